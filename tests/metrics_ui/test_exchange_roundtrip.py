"""The export file, read back: every valid definition comes out of an import unchanged."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from metrics_ui import catalog, upstream
from metrics_ui import filter_tree as ft
from metrics_ui.metrics import exchange, plan
from tests.metrics_ui.test_filter_tree import LIGHT, valid_trees

names = st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def definitions(draw) -> upstream.CustomMetric:
    base, tree = draw(valid_trees())
    group_by = []
    for choice in (
        draw(st.lists(st.sampled_from(base.group_by), unique=True, max_size=3)) if base.group_by else []
    ):
        if choice in catalog.PROPERTY_GROUP_BYS:
            group_by += [f"{choice}.{k}" for k in draw(st.lists(keys, min_size=1, max_size=2, unique=True))]
        else:
            group_by.append(choice)
    return upstream.CustomMetric(
        "id-1", "appID1", draw(names), base.metric,
        ft.to_json(tree, base) if draw(st.booleans()) else {},
        tuple(group_by),
        tuple(draw(st.lists(st.sampled_from(base.time_granularity), min_size=1, unique=True))),
        tuple(draw(st.lists(st.sampled_from(base.data_destination), min_size=1, unique=True))),
    )  # fmt: skip


@LIGHT
@given(st.lists(definitions(), min_size=1, max_size=4, unique_by=lambda m: m.name))
def test_export_then_import_round_trips_every_valid_definition_unchanged(metrics):
    """Read back against the same app, each metric is accepted and planned as "unchanged"; into an
    empty app, the body to be sent describes exactly the exported metric."""
    text = exchange.dump("appID1", metrics, {})
    document = exchange.read(text, catalog.CATALOG)
    assert document.problems == []
    assert plan.build("appID1", document, metrics).counts()[plan.UNCHANGED] == len(metrics)
    fresh = plan.build("appID2", document, [])
    by_name = {m.name: m for m in metrics}
    for row in fresh.rows:
        assert row.kind == plan.CREATE
        assert by_name[row.name].same_definition(row.body)
        assert json.loads(json.dumps(row.body)) == by_name[row.name].definition()
