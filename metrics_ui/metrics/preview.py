"""The request the Create button would send, as JSON and as a curl line (the builder's JSON view)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from metrics_ui import filter_tree, upstream
from metrics_ui.filter_tree import Group
from metrics_ui.metrics import curl
from metrics_ui.metrics import group_by as group_bys
from metrics_ui.metrics.form import MetricForm, request_body


@dataclass
class RequestPreview:
    """What the form would send, read from its data without validating it."""

    form: MetricForm
    tree: Group
    app_id: str
    region: str = "sandbox"

    @cached_property
    def request_body(self) -> dict | None:
        """The body the Create button would send, when the form is complete enough to say."""
        if self.form.base_metric is None:
            return None
        data = self.form.data if self.form.is_bound else self.form.initial
        get_list = data.getlist if hasattr(data, "getlist") else lambda k: list(data.get(k, []))
        group_by, _ = group_bys.from_form(
            get_list("group_by"), lambda p: data.get(group_bys.key_field(p), "")
        )
        try:
            return request_body(
                str(data.get("name", "")).strip(), self.form.base_metric, group_by, self.tree,
                get_list("time_granularity"), get_list("data_destination"),
            )  # fmt: skip
        except filter_tree.FilterError:
            return None

    @property
    def request_json(self) -> str:
        body = self.request_body
        return json.dumps(body, indent=2) if body is not None else ""

    @property
    def curl(self) -> str:
        body = self.request_body
        if body is None:
            return ""
        try:
            base = upstream.base_url(self.region)
        except Exception:  # the curl line is a convenience; never let it break the page
            base = "https://api.embrace.io/custom-metrics"
        return curl.create_command(base, self.app_id, body)
