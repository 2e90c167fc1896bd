"""A custom metric in plain language, and what it produces elsewhere.

Everything a person reads about a stored metric comes from here: the base metric's name for
people, the filters as a sentence, group-bys, granularities and destinations in words, the series
names the metric produces in Embrace's Metrics API with a ready PromQL query ("copy as curl" is
``metrics.curl``).

Series are named ``<granularity>_<name>``, labelled with
``app_id`` and the group-bys; a property group-by (``session_property.city``) becomes a label named
after its bare key (``city``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metrics_ui import catalog, filter_tree

if TYPE_CHECKING:
    from metrics_ui.upstream import CustomMetric

NO_FILTERS = "No filters: everything is counted."
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class Summary:
    """One row of the metric list."""

    name: str
    base_metric: str
    filters: str
    group_bys: tuple[str, ...]
    granularities: tuple[str, ...]
    destinations: tuple[str, ...]

    # The same lists as text, joined once here: 50 rows of template ``join`` filters cost more.
    @property
    def group_bys_text(self) -> str:
        return ", ".join(self.group_bys) or "Nothing"

    @property
    def granularities_text(self) -> str:
        return ", ".join(self.granularities)

    @property
    def destinations_text(self) -> str:
        return ", ".join(self.destinations)


@dataclass(frozen=True)
class Series:
    """A series in Embrace's Metrics API (PromQL) and the labels it carries."""

    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Description:
    """Everything the detail page says about one metric."""

    summary: Summary
    base_key: str  # the API's name of the base metric, e.g. ``sessions_total``
    base_description: str
    series: tuple[Series, ...]
    promql: str
    in_metrics_api: bool  # False when the Metrics API isn't one of the destinations
    stored_json: str


def filter_sentence(filters: dict, base_metric: catalog.BaseMetric | None = None) -> str:
    """The filter tree as a sentence, e.g. "OS version is 12 and app version is one of 1.2, 1.3"."""
    try:
        tree = filter_tree.from_json(filters or {})
    except filter_tree.FilterError:
        # A tree the console can't read (a newer upstream shape, say): the stored JSON is still shown.
        return "Filters the console can't put into words; see the stored definition on the metric's page."
    if not filter_tree.conditions(tree):
        return NO_FILTERS
    return filter_tree.sentence(tree, base_metric)


def granularities_of(metric: CustomMetric) -> tuple[str, ...]:
    """The metric's granularities, with the API's default (hourly) when none is stored."""
    return tuple(metric.time_granularity) or (catalog.DEFAULT_GRANULARITY,)


def destinations_of(metric: CustomMetric) -> tuple[str, ...]:
    return tuple(metric.data_destination) or (catalog.DEFAULT_DESTINATION,)


def summary(metric: CustomMetric) -> Summary:
    """The list row for ``metric`` (an ``upstream.CustomMetric``)."""
    return Summary(
        name=metric.name,
        base_metric=catalog.display_name(metric.metric),
        filters=filter_sentence(metric.filters, catalog.get(metric.metric)),
        group_bys=tuple(catalog.key_label(g) for g in metric.group_by),
        granularities=tuple(catalog.GRANULARITY_LABELS.get(g, g) for g in granularities_of(metric)),
        destinations=tuple(catalog.DESTINATION_LABELS.get(d, d) for d in destinations_of(metric)),
    )


def label_name(group_by: str) -> str:
    """The Metrics API label for a group-by: property group-bys use their bare key."""
    prefix, dot, rest = group_by.partition(".")
    return rest if dot and prefix in catalog.PROPERTY_GROUP_BYS else group_by


def _promql_label(name: str) -> str:
    # Keys outside the classic label-name rule need Prometheus 3's quoted form.
    return name if _LABEL_NAME.fullmatch(name) else json.dumps(name)


def series(metric: CustomMetric) -> tuple[Series, ...]:
    labels = ("app_id", *(label_name(g) for g in metric.group_by))
    return tuple(Series(f"{g}_{metric.name}", labels) for g in granularities_of(metric))


def promql(metric: CustomMetric) -> str:
    """A ready query: the hourly series if there is one, summed by the group-bys, for this app."""
    granularities = granularities_of(metric)
    granularity = "hourly" if "hourly" in granularities else granularities[0]
    selector = f'{granularity}_{metric.name}{{app_id="{metric.app_id}"}}'
    labels = [_promql_label(label_name(g)) for g in metric.group_by]
    return f"sum by ({', '.join(labels)}) ({selector})" if labels else f"sum({selector})"


def describe(metric: CustomMetric) -> Description:
    """Everything the detail page shows about ``metric`` (an ``upstream.CustomMetric``)."""
    base = catalog.get(metric.metric)
    return Description(
        summary=summary(metric),
        base_key=metric.metric,
        base_description=base.description if base else "",
        series=series(metric),
        promql=promql(metric),
        in_metrics_api="metrics_api" in destinations_of(metric),
        stored_json=json.dumps(
            {"custom_metric_id": metric.custom_metric_id, "app_id": metric.app_id, **metric.definition()},
            indent=2,
            ensure_ascii=False,
        ),
    )
