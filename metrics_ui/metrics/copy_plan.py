"""Copying a metric to other apps: per app, what a copy would do (one look-up each, nothing created),
then, once confirmed, what it did."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from metrics_ui import catalog, filter_tree, upstream
from metrics_ui.metrics import writes as create_guard
from metrics_ui.metrics.parameters import base_metrics
from metrics_ui.tokens import access

WILL_CREATE, IDENTICAL, CONFLICTS, CANNOT = "create", "identical", "conflict", "cannot"
PLAN_WORDS = {
    WILL_CREATE: "Will be created",
    IDENTICAL: "Already exists with exactly these settings (nothing to do)",
    CONFLICTS: "A metric with this name exists there with different settings (it won't be touched)",
    CANNOT: "Can't be copied",
}


@dataclass
class CopyRow:
    app_id: str
    client: upstream.Client | None = None
    status: str = CANNOT
    reason: str = ""
    result: str = ""
    succeeded: bool = False


def _unsupported(source: upstream.CustomMetric, metrics: dict[str, catalog.BaseMetric]) -> str:
    base = metrics.get(source.metric)
    if base is None:
        return f"This app doesn't offer the base metric {catalog.display_name(source.metric)}."
    group_by = [g for g in source.group_by if not base.allows_group_by(g)]
    if group_by:
        return f"It can't be grouped by {', '.join(catalog.key_label(g) for g in group_by)} there."
    try:
        errors = filter_tree.validate(filter_tree.from_json(source.filters or {}), base)
    except filter_tree.FilterError:
        errors = [None]
    if errors:
        return "Its filter uses keys or operators that app doesn't support."
    return ""


class CopyPlan:
    """Per target app, what copying ``source`` there would do; then, once confirmed, what it did."""

    def __init__(self, user, source: upstream.CustomMetric, targets: list) -> None:
        # Pre-flight: one look-up per app (and its parameters when the name is free); nothing is created.
        self.source = source
        self.body = source.definition()
        self.rows: list[CopyRow] = []
        for target in targets:
            row = CopyRow(target.app_id)
            self.rows.append(row)
            try:
                row.client = access.client_for(user, target.app_id)
                existing = row.client.find_metric(target.app_id, source.name)
                if existing is not None:
                    row.status = IDENTICAL if existing.same_definition(self.body) else CONFLICTS
                    continue
                problem = _unsupported(source, base_metrics(row.client, target.app_id)[0])
                row.status, row.reason = (CANNOT, problem) if problem else (WILL_CREATE, "")
            except upstream.Forbidden:
                row.reason = "Your token for this app was refused by Embrace."
            except (upstream.UpstreamError, access.TokenUnreadable) as error:
                row.reason = error.message
            except Http404:  # the token stopped managing the app between the two pages
                row.reason = "None of your tokens manages this app any more."

    @property
    def will_create(self) -> list[CopyRow]:
        return [r for r in self.rows if r.status == WILL_CREATE]

    def run(self, create) -> None:
        """Create in each app marked "will be created"; ``create(body, row)`` returns an Outcome."""
        for row in self.will_create:
            outcome = create(self.body, row)
            row.succeeded = outcome.succeeded
            if outcome.kind == create_guard.CREATED:
                row.result = "Created."
            elif outcome.kind == create_guard.EXISTED:
                row.result = "Already there with exactly these settings."
            elif outcome.kind == create_guard.CONFLICT:
                row.result = "Not created: a metric with this name and different settings appeared meanwhile."
            elif outcome.error is not None:
                row.result = f"Not created: {outcome.error.message}"
            else:
                row.result = "Not created."
