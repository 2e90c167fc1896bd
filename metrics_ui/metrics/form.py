"""The create form: the metric-name rule, the fields, their checks, and where Embrace's refusals go.
Also the values that reproduce an existing metric (for copying) and the next free name."""

from __future__ import annotations

import re

from django import forms
from django.forms.utils import ErrorDict

from metrics_ui import catalog, filter_tree, upstream
from metrics_ui.filter_tree import Group
from metrics_ui.metrics import group_by as group_bys

NAME_RULE = (
    f"Letters, digits and underscores; it can't start with a digit; at most {catalog.NAME_MAX_LENGTH} "
    "characters. For example sessions_by_version."
)

# Upstream 400 messages mention what they are about; the first matching field gets the message.
_REJECTION_FIELDS = (
    (("group_by", "group by", "group-by"), "group_by"),
    (("time_granularity", "granularity"), "time_granularity"),
    (("data_destination", "destination"), "data_destination"),
    (("filter", "field_op", "val ", "operator"), "filters"),
    (("base metric", "name of the metric", "unknown metric", "metric doesn't exist", "metric does not exist"),
     "metric"),
    (("name",), "name"),
    (("metric",), "metric"),
)  # fmt: skip


def name_problem(name: str) -> str:
    """Why ``name`` can't be a metric name, in words; empty when it can."""
    if not name:
        return "Give the metric a name."
    if len(name) > catalog.NAME_MAX_LENGTH:
        return f"That name is {len(name)} characters long; the limit is {catalog.NAME_MAX_LENGTH}."
    if name[0].isdigit():
        return "A name can't start with a digit."
    if not catalog.NAME_RE.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c == "_"))})
        shown = " ".join("space" if c == " " else c for c in bad[:5])
        return f"Only letters, digits and underscores are allowed (not {shown})."
    return ""


class MetricForm(forms.Form):
    """Name, base metric, group-bys, granularities and destinations; the tree comes from the builder."""

    name = forms.CharField(
        max_length=catalog.NAME_MAX_LENGTH + 50,
        required=False,
        help_text=NAME_RULE,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                # As the person types, the page says whether the name is free (a relative URL: this page).
                "hx-get": "?check_name=1",
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#name-check",
                "hx-swap": "outerHTML settle:0ms",
                "hx-sync": "this:replace",
            }
        ),
    )
    metric = forms.ChoiceField(label="Base metric", error_messages={"required": "Choose what to count."})
    group_by = forms.MultipleChoiceField(
        label="Group by", required=False, widget=forms.CheckboxSelectMultiple
    )
    time_granularity = forms.MultipleChoiceField(
        label="Granularity", required=False, widget=forms.CheckboxSelectMultiple
    )
    data_destination = forms.MultipleChoiceField(
        label="Data destinations", required=False, widget=forms.CheckboxSelectMultiple
    )
    # Never typed into: the place where upstream messages about the filter are shown.
    filters = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args, metrics: dict[str, catalog.BaseMetric], tree: Group = filter_tree.EMPTY, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.tree = tree
        self.tree_errors: list[filter_tree.NodeError] = []
        # No "choose one" placeholder: the page always starts on a base metric (see _prefilled), since
        # the group-bys, granularities and the filter builder all depend on it.
        self.fields["metric"].choices = sorted(
            ((m.metric, m.display_name) for m in metrics.values()), key=lambda c: c[1].lower()
        )
        base = self.base_metric
        self.fields["group_by"].choices = [(g, catalog.key_label(g)) for g in (base.group_by if base else ())]
        grans = base.time_granularity if base else catalog.GRANULARITIES
        self.fields["time_granularity"].choices = [(g, catalog.GRANULARITY_LABELS.get(g, g)) for g in grans]
        dests = base.data_destination if base else catalog.DESTINATIONS
        self.fields["data_destination"].choices = [(d, catalog.DESTINATION_LABELS.get(d, d)) for d in dests]
        for prefix in self.property_group_bys:
            label = catalog.key_label(prefix)
            self.fields[group_bys.key_field(prefix)] = forms.CharField(
                label=f"{label.capitalize()} keys (when “{label}” is ticked)",
                required=False,
                max_length=500,
                help_text="One or more keys, separated by commas, e.g. city, plan.",
            )

    def hold_errors(self) -> None:
        """A builder step or a new base metric isn't a submission: no field is marked wrong until
        Create (the name check still answers when the person leaves the name field)."""
        self._errors = ErrorDict()
        self.cleaned_data = {}

    @property
    def base_metric(self) -> catalog.BaseMetric | None:
        value = self.data.get("metric") if self.is_bound else self.initial.get("metric")
        return self.metrics.get(value or "")

    @property
    def property_group_bys(self) -> list[str]:
        base = self.base_metric
        return [g for g in (base.group_by if base else ()) if g in catalog.PROPERTY_GROUP_BYS]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        problem = name_problem(name)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return name

    def clean(self) -> dict:
        data = super().clean()
        base = self.base_metric
        if base is None:
            return data
        group_by, missing = group_bys.from_form(
            data.get("group_by", []), lambda prefix: data.get(group_bys.key_field(prefix), "")
        )
        for prefix in missing:
            self.add_error(group_bys.key_field(prefix), "Type the key to group by, or untick this group-by.")
        data["group_by_keys"] = group_by
        self.tree_errors = filter_tree.validate(self.tree, base)
        if self.tree_errors:
            self.add_error("filters", "The filter has problems: see the marked conditions.")
        return data

    def body(self) -> dict:
        """The request body sent to Embrace (call after ``is_valid``)."""
        data = self.cleaned_data
        return request_body(
            data["name"], self.base_metric, data["group_by_keys"], self.tree, data["time_granularity"],
            data["data_destination"],
        )  # fmt: skip

    def add_upstream_error(self, error: upstream.UpstreamError, app_id: str) -> None:
        """Put a 400's message on the field it concerns; other failures become form-level errors."""
        if isinstance(error, upstream.Rejected):
            text = getattr(error, "upstream_message", "") or error.message
            lowered = text.lower()
            target = next((f for words, f in _REJECTION_FIELDS if any(w in lowered for w in words)), None)
            self.add_error(target, f"Embrace rejected this: {text}")
            return
        self.add_error(None, error.message)

    def add_conflict(self, existing: upstream.CustomMetric, app_id: str) -> None:
        self.add_error(
            "name",
            forms.ValidationError(
                "A metric named %(name)s already exists in %(app)s, with different settings.",
                code="conflict",
                params={"name": existing.name, "app": app_id},
            ),
        )


def request_body(
    name: str, base: catalog.BaseMetric, group_by: list[str], tree: Group, granularities, destinations
) -> dict:
    """The body of a create request. Raises ``FilterError`` when the tree can't be sent."""
    return {
        "name": name,
        "metric": base.metric,
        "group_by": group_by,
        "filters": filter_tree.to_json(tree, base),
        "time_granularity": list(granularities),
        "data_destination": list(destinations),
    }


def initial_for(source: upstream.CustomMetric, name: str) -> tuple[dict, Group]:
    """Initial form values and tree that reproduce ``source`` under a new name."""
    initial: dict = {
        "name": name,
        "metric": source.metric,
        **group_bys.to_form(source.group_by),
        "time_granularity": list(source.time_granularity),
        "data_destination": list(source.data_destination),
    }
    try:
        tree = filter_tree.from_json(source.filters or {})
    except filter_tree.FilterError:
        tree = filter_tree.EMPTY
    return initial, tree


def next_free_name(base: str, taken: set[str]) -> str:
    """``<base>_v2``, or ``_v3`` … when taken; a ``_vN`` suffix already on ``base`` is counted up."""
    match = re.fullmatch(r"(.*)_v(\d+)", base)
    stem, number = (match.group(1), int(match.group(2)) + 1) if match else (base, 2)
    while f"{stem}_v{number}"[: catalog.NAME_MAX_LENGTH] in taken:
        number += 1
    return f"{stem}_v{number}"[: catalog.NAME_MAX_LENGTH]
