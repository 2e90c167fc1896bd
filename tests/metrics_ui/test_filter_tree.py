"""The filter tree as a value: round trips, validation, the sentence and the builder operations."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metrics_ui import catalog
from metrics_ui import filter_tree as ft
from metrics_ui.filter_tree import Condition, Group, Property, Range

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Fewer examples where the property is simple, to keep the module's run short on a busy machine.
LIGHT = settings(SETTINGS, max_examples=100)

# --- strategies: valid trees for a base metric, as the builder or an import would make them ------

# List items must fit the form's list format (quoted where they hold a comma);
# scalars may be anything that isn't blank.
# A small alphabet with the awkward characters keeps generation fast.
ALPHABET = "abzAZ09 .,-_:/é€“”()\u00a0"
printable = st.characters(exclude_categories=("Cc", "Cs"))
list_item = st.text(ALPHABET, min_size=1, max_size=10).map(str.strip).filter(bool)
scalar_text = st.one_of(
    st.text(ALPHABET, min_size=1, max_size=20), st.text(printable, min_size=1, max_size=6)
)
scalar_text = scalar_text.filter(str.strip)
whole = st.integers(min_value=-(10**12), max_value=10**12)


def value_for(spec: catalog.FilterSpec, op: str) -> st.SearchStrategy:
    if spec.type == "range":
        return st.tuples(whole, whole).map(lambda p: Range(str(min(p)), str(max(p))))
    if spec.type == "property":
        values = st.lists(list_item, min_size=1, max_size=4, unique=True)
        return st.builds(lambda k, vs: Property(k, ft.join_values(vs)), scalar_text, values)
    item = {"int": whole.map(str), "boolean": st.sampled_from(["yes", "no"])}.get(spec.type)
    if op == "in":
        items = st.lists(list_item if item is None else item, min_size=1, max_size=5, unique=True)
        return items.map(ft.join_values)
    return scalar_text if item is None else item


@st.composite
def condition_for(draw, metric: catalog.BaseMetric) -> Condition:
    spec = draw(st.sampled_from([f for f in metric.filters if f.supported_ops]))
    op = draw(st.sampled_from(spec.supported_ops))
    return Condition(spec.name, op, draw(value_for(spec, op)))


def nodes_for(metric: catalog.BaseMetric, levels: int) -> st.SearchStrategy:
    """Nodes at most ``levels`` group levels deep (conditions are 0)."""
    leaf = condition_for(metric)
    if levels == 0:
        return leaf
    inner = nodes_for(metric, levels - 1)
    group = st.builds(
        Group, st.sampled_from(ft.CONNECTORS), st.lists(inner, min_size=1, max_size=2).map(tuple)
    )
    return st.one_of(leaf, leaf, group)


@st.composite
def valid_trees(draw, metric: catalog.BaseMetric | None = None) -> tuple[catalog.BaseMetric, Group]:
    metric = metric or draw(st.sampled_from(catalog.BASE_METRICS))
    children = draw(st.lists(nodes_for(metric, ft.MAX_DEPTH - 1), min_size=1, max_size=4))
    tree = Group(draw(st.sampled_from(ft.CONNECTORS)), tuple(children))
    assume(sum(1 for _ in ft.conditions(tree)) <= ft.MAX_CONDITIONS)
    return metric, tree


# Anything at all, as the form could post it: unknown keys, wrong values, broken connectors.
any_text = st.text(max_size=12)
any_value = st.one_of(any_text, st.builds(Range, any_text, any_text), st.builds(Property, any_text, any_text))
any_condition = st.builds(Condition, any_text, any_text, any_value)
any_node = st.recursive(
    any_condition,
    lambda inner: st.builds(Group, any_text, st.lists(inner, max_size=3).map(tuple)),
    max_leaves=12,
)
any_tree = st.builds(Group, any_text, st.lists(any_node, max_size=4).map(tuple))


def example() -> Group:
    return Group(
        "and",
        (
            Condition("os_version", "eq", "12"),
            Group("or", (Condition("app_version", "eq", "1.2"), Condition("app_version", "eq", "1.3"))),
        ),
    )


SESSIONS = catalog.get("sessions_total")
NETWORK = catalog.get("network_requests_total")


# --- JSON ----------------------------------------------------------------------------------------


@SETTINGS
@given(valid_trees())
def test_valid_trees_survive_a_json_round_trip(case):
    """Writing a valid tree as the API's JSON and reading it back gives the same tree, through text too."""
    metric, tree = case
    data = ft.to_json(tree, metric)
    assert ft.from_json(data) == tree
    assert ft.from_json(json.dumps(data, indent=2)) == tree
    assert ft.to_json(ft.from_json(data), metric) == data


def test_json_has_the_apis_shapes():
    """Leaves carry field_op/key/val with typed values; groups op/children; no filter is {}."""
    tree = Group(
        "and",
        (
            Condition("os_major_version", "in", "13\n14"),
            Condition("has_anr", "eq", "yes"),
            Condition("session_property", "eq", Property("plan", "free\npro")),
        ),
    )
    assert ft.to_json(tree, SESSIONS) == {
        "op": "and",
        "children": [
            {"field_op": "in", "key": "os_major_version", "val": [13, 14]},
            {"field_op": "eq", "key": "has_anr", "val": True},
            {
                "field_op": "eq",
                "key": "session_property",
                "val": {"property_key": "plan", "property_values": ["free", "pro"]},
            },
        ],
    }
    status = Group("and", (Condition("status_code", "eq", Range("400", "499")),))
    assert ft.to_json(status, NETWORK)["children"][0]["val"] == {"start": 400, "end": 499}
    assert ft.to_json(ft.EMPTY) == {}
    assert ft.from_json({}) == ft.from_json("  ") == ft.from_json(None) == ft.EMPTY


def test_a_bare_condition_at_the_top_is_wrapped_in_an_and_group():
    """A pasted single condition becomes a filter with that one condition."""
    tree = ft.from_json('{"key": "os_version", "field_op": "eq", "val": "12"}')
    assert tree == Group("and", (Condition("os_version", "eq", "12"),))


def test_to_json_refuses_a_value_that_is_not_of_the_keys_type():
    """A number field holding "abc" can't be sent; the error names the node."""
    tree = Group("and", (Condition("os_version", "eq", "1"), Condition("os_major_version", "eq", "abc")))
    with pytest.raises(ft.FilterError) as caught:
        ft.to_json(tree, SESSIONS)
    assert caught.value.path == (1,)


def test_a_filter_mistake_in_pasted_json_names_its_line():
    """The message points at the line of the offending part, as a person sees the pasted text."""
    text = '{\n  "op": "and",\n  "children": [\n    {"key": "os_version", "field_op": "eq", "val": "12"},\n'
    text += '    {"key": "country", "field_op": "eq", "val": null}\n  ]\n}'
    with pytest.raises(ft.FilterError) as caught:
        ft.from_json(text)
    assert caught.value.message == (
        "The JSON is valid but isn't a filter: line 5, at “children” → item 2 → “val”: "
        "expected text, a number, true or false."
    )
    with pytest.raises(ft.FilterError) as caught:
        ft.from_json({"op": "and", "children": {}})
    assert caught.value.message.startswith(
        "The JSON is valid but isn't a filter: at “children”: expected a list"
    )


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ('{"op": "and", "children": [', "This isn't valid JSON: line 1"),
        ('{"op": "and"\n "children": []}', "This isn't valid JSON: line 2, column 2: a comma is missing"),
        ("{'op': 'and'}", "This isn't valid JSON: line 1, column 2: a name must be in double quotes"),
        (
            '{"op": "and", "children": 3}',
            "The JSON is valid but isn't a filter: line 1, at “children”: expected a list",
        ),
        ('{"op": "xor", "children": []}', "The JSON is valid but isn't a filter: line 1, at “op”"),
        ("[1, 2]", "The JSON is valid but isn't a filter: line 1, at the top"),
        (
            '{"op": "and", "children": [{"key": "os_version", "val": "1"}]}',
            "The JSON is valid but isn't a filter: line 1, at “children” → item 1: a condition needs",
        ),
        (
            '{"op":"or","children":[{"key":"k","field_op":"in","val":["a", ""]}]}',
            "The JSON is valid but isn't a filter: line 1, at “children” → item 1 → “val” → item 2",
        ),
        ("[" * 100_000, "This JSON is nested more than 64 levels deep"),
        ("x" * (ft.MAX_JSON_LENGTH + 1), "This is too long to be a filter"),
    ],
)
def test_pasted_json_that_is_not_a_filter_is_explained(text, start):
    """Invalid JSON and JSON that isn't a filter get different, plain explanations with where."""
    with pytest.raises(ft.FilterError) as caught:
        ft.from_json(text)
    assert caught.value.message.startswith(start), caught.value.message


@LIGHT
@given(st.text(max_size=200))
def test_any_pasted_text_gives_a_tree_or_a_filter_error(text):
    """Whatever is pasted, the import answers with a tree or a message, never a crash."""
    try:
        assert isinstance(ft.from_json(text), Group)
    except ft.FilterError as error:
        assert error.message


# --- form data -----------------------------------------------------------------------------------


@SETTINGS
@given(any_tree, st.sampled_from(["filter", "f", "copy-filter"]))
def test_every_tree_survives_a_form_round_trip(tree, prefix):
    """Whatever the tree holds, typed garbage included, the form gives it back unchanged."""
    assert ft.from_form(ft.to_form(tree, prefix), prefix) == tree


def test_form_fields_are_flat_and_named_from_paths():
    """The form's field names follow the documented scheme."""
    data = ft.to_form(
        Group("or", (Condition("status_code", "eq", Range("400", "abc")), Group("and", ()))), "filter"
    )
    assert data == {
        "filter-0-node": "group",
        "filter-0-connector": "or",
        "filter-0.0-node": "condition",
        "filter-0.0-key": "status_code",
        "filter-0.0-op": "eq",
        "filter-0.0-start": "400",
        "filter-0.0-end": "abc",
        "filter-0.1-node": "group",
        "filter-0.1-connector": "and",
    }


def test_a_number_field_holding_text_survives_and_is_reported():
    """ "abc" typed as OS major version comes back as typed, with a message on that field."""
    posted = {"filter-0-connector": "and", "filter-0.0-key": "os_major_version", "filter-0.0-op": "gt"}
    posted["filter-0.0-value"] = "abc"
    tree = ft.from_form(posted)
    assert tree.children[0].value == "abc"
    assert ft.to_form(tree)["filter-0.0-value"] == "abc"
    assert ft.validate(tree, SESSIONS) == [
        ft.NodeError((0,), "value", "OS major version needs a whole number, like 14.")
    ]


def test_form_reads_children_in_index_order_and_closes_gaps():
    """Posted nodes are ordered by index, whatever order the fields arrive in."""
    posted = {"filter-0.7-key": "country", "filter-0.2-key": "model", "filter-0.10-key": "os_version"}
    assert [c.key for c in ft.from_form(posted).children] == ["model", "country", "os_version"]


field_names = st.one_of(
    st.text(max_size=30),
    st.builds(
        "filter-{}-{}".format,
        st.lists(st.integers(0, 12000), max_size=12).map(lambda p: ".".join(["0", *map(str, p)])),
        st.sampled_from([*ft.FORM_FIELDS, "", "x", "node-"]),
    ),
    st.builds("filter-{}-{}".format, st.text(max_size=10), st.sampled_from(ft.FORM_FIELDS)),
)
field_values = st.one_of(
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.integers(),
    st.none(),
    st.just("x" * (ft.FORM_MAX_VALUE_LENGTH + 5)),
    st.sampled_from(["group", "condition", "and", "or", "in", "status_code", "yes"]),
)


@SETTINGS
@given(st.dictionaries(field_names, field_values, max_size=40))
def test_garbage_form_data_never_raises(posted):
    """A fuzzer's post yields a bounded tree that every other function accepts."""
    tree = ft.from_form(posted)
    assert isinstance(tree, Group)
    assert ft.depth(tree) <= ft.FORM_MAX_DEPTH + 1
    assert sum(1 for _ in ft.walk(tree)) <= ft.FORM_MAX_NODES
    assert ft.from_form(ft.to_form(tree)) == tree
    for metric in (SESSIONS, NETWORK):
        ft.validate(tree, metric)
        ft.sentence(tree, metric)
        ft.conform(tree, metric)
        ft.drop_inapplicable(tree, metric)
    for warning in ft.lint(tree):
        ft.apply_fix(tree, warning)


def test_deep_and_huge_form_data_is_capped():
    """Nesting past the form's depth cap and more nodes than its size cap are dropped, fast."""
    deep = {f"filter-{'.'.join(['0'] * n)}-node": "group" for n in range(1, 40)}
    assert ft.depth(ft.from_form(deep)) == ft.FORM_MAX_DEPTH + 1
    wide = {f"filter-0.{i}-key": "country" for i in range(5000)}
    assert len(ft.from_form(wide).children) < ft.FORM_MAX_NODES
    assert ft.from_form({"filter-0.0-value": "é" * 10**6}).children[0].value == "é" * ft.FORM_MAX_VALUE_LENGTH


# --- validation ----------------------------------------------------------------------------------


@SETTINGS
@given(valid_trees())
def test_trees_built_from_the_catalog_validate(case):
    metric, tree = case
    assert ft.validate(tree, metric) == []


@st.composite
def broken_trees(draw):
    """A valid tree with one condition broken in a known way: (metric, tree, path, field)."""
    metric, tree = draw(valid_trees())
    assume(ft.conditions(tree))
    path, node = draw(st.sampled_from(ft.conditions(tree)))
    spec = metric.filter(node.key)
    choices = ["key"]
    if set(catalog.OPERATORS) - set(spec.supported_ops):
        choices.append("op")
    if spec.type in ("int", "boolean", "string") and node.op != "in":
        choices.append("value")
    if spec.type == "range":
        choices.append("start")
    if spec.type == "property":
        choices.append("pkey")
    field = draw(st.sampled_from(choices))
    if field == "key":
        broken = Condition("not_a_key", node.op, node.value)
    elif field == "op":
        broken = Condition(
            node.key,
            draw(st.sampled_from(sorted(set(catalog.OPERATORS) - set(spec.supported_ops)))),
            node.value,
        )
    elif field == "value":
        broken = Condition(node.key, node.op, {"int": "1.5", "boolean": "maybe", "string": "  "}[spec.type])
    elif field == "start":
        broken = Condition(node.key, node.op, Range("four hundred", node.value.end))
    else:
        broken = Condition(node.key, node.op, Property("", node.value.values))
    return metric, ft.set_node(tree, path, broken), path, field


@SETTINGS
@given(broken_trees())
def test_a_broken_condition_is_reported_on_its_node_and_field(case):
    """Each kind of mistake is reported once, on the node and the field the person must fix."""
    metric, tree, path, field = case
    errors = ft.validate(tree, metric)
    assert [(e.path, e.field) for e in errors] == [(path, field)]
    assert errors[0].message.endswith(".")


def test_validation_messages_are_plain_words():
    tree = Group(
        "and",
        (
            Condition("is_handled", "eq", "yes"),
            Condition("model", "gt", "Pixel"),
            Condition("os_version", "in", "\n \n"),
            Condition("os_major_version", "in", "12 13"),
        ),
    )
    assert [e.message for e in ft.validate(tree, SESSIONS)] == [
        "“is handled” can't be used to filter Session count.",
        "Device model can't be compared with “is greater than”; use “is”, “is not”, “contains”, "
        "“does not contain”, “is one of”.",
        "Enter at least one value for OS version, separated by commas or new lines.",
        "Value 1 (“12 13”): OS major version needs a whole number, like 14.",
    ]
    status = Group("and", (Condition("status_code", "eq", Range("499", "400")),))
    assert ft.validate(status, NETWORK) == [
        ft.NodeError((0,), "end", "The end of status code can't be smaller than its start.")
    ]


def test_an_empty_group_can_not_be_sent():
    """The upstream refuses an empty group, so validation says so on that group."""
    tree = Group("and", (Condition("country", "eq", "FR"), Group("or", ())))
    assert ft.validate(tree, SESSIONS) == [
        ft.NodeError((1,), "node", "This group is empty: add a condition to it or remove it.")
    ]
    assert ft.validate(Group("or", ()), SESSIONS) == []


def test_text_the_upstream_refuses_is_reported():
    """Line breaks or tabs inside a value, and a value listed twice, are caught before sending."""
    tree = Group(
        "and",
        (
            Condition("country", "eq", "F\tR"),
            Condition("country", "in", "FR\nDE\nFR"),
            Condition("os_major_version", "in", "12\n+12"),
            Condition("session_property", "eq", Property("pl\x00an", "free")),
        ),
    )
    assert [(e.path, e.field, e.message) for e in ft.validate(tree, SESSIONS)] == [
        ((0,), "value", "A value can't contain line breaks, tabs or other invisible control characters."),
        ((1,), "value", "Value 3: “FR” is already in the list."),
        ((2,), "value", "Value 2: “+12” is already in the list."),
        ((3,), "pkey", "The name can't contain line breaks, tabs or other invisible control characters."),
    ]


def test_depth_and_size_limits_are_reported():
    """Groups deeper than MAX_DEPTH and more than MAX_CONDITIONS conditions are flagged."""
    node: ft.Node = Condition("country", "eq", "FR")
    for _ in range(ft.MAX_DEPTH):
        node = Group("and", (node,))
    errors = ft.validate(Group("and", (node,)), SESSIONS)
    assert [(e.path, e.field) for e in errors] == [((0, 0, 0, 0), "node")]
    many = Group("or", tuple(Condition("country", "eq", str(i)) for i in range(ft.MAX_CONDITIONS + 1)))
    assert [(e.path, e.field) for e in ft.validate(many, SESSIONS)] == [((), "node")]
    assert ft.validate(Group("or", many.children[:-1]), SESSIONS) == []


# --- the sentence --------------------------------------------------------------------------------


def test_sentence_examples():
    C = Condition
    assert ft.sentence(example()) == "OS version is 12 and (app version is 1.2 or app version is 1.3)"
    assert (
        ft.sentence(Group("and", (C("app_version", "in", "1.2\n1.3"),)))
        == "app version is one of “1.2” or “1.3”"
    )
    assert ft.sentence(Group("and", (C("status_code", "eq", Range("400", "499")),))) == (
        "status code is between 400 and 499"
    )
    assert ft.sentence(Group("and", (C("session_property", "eq", Property("plan", "free\npro")),))) == (
        "session property “plan” is one of “free” or “pro”"
    )
    assert ft.sentence(Group("or", (C("has_anr", "eq", "yes"), C("has_anr", "eq", "no")))) == (
        "had an ANR or did not have an ANR"
    )
    assert ft.sentence(ft.EMPTY) == "every event (no filter)"
    assert ft.sentence(Group("and", (Group("or", ()),))) == "every event (no filter)"
    assert ft.sentence(Group("and", (C(),))) == "… … …"


def _text(value: ft.Value) -> str:
    return value if isinstance(value, str) else " ".join(vars(value).values())


def _balanced(text: str) -> bool:
    level = 0
    for char in text:
        level += {"(": 1, ")": -1}.get(char, 0)
        if level < 0:
            return False
    return level == 0


no_parens = st.characters(exclude_characters="()", exclude_categories=("Cs",))


@LIGHT
@given(valid_trees())
def test_sentence_names_every_condition_with_balanced_parentheses(case):
    metric, tree = case
    assume(not any("(" in _text(n.value) or ")" in _text(n.value) for _, n in ft.conditions(tree)))
    text = ft.sentence(tree, metric)
    for _, node in ft.conditions(tree):
        assert catalog.key_label(node.key) in text or node.key in ("has_anr", "is_handled")
    assert _balanced(text)


@LIGHT
@given(valid_trees())
def test_sentence_uses_parentheses_only_where_connectors_change(case):
    """Nesting "and" in "and" reads without brackets; an "or" inside an "and" gets them."""
    metric, tree = case
    assume(not any("(" in _text(n.value) for _, n in ft.conditions(tree)))
    same = Group(tree.connector, tuple(_same_connector(c, tree.connector) for c in tree.children))
    text = ft.sentence(same, metric).replace(ft.NO_FILTER_SENTENCE, "")
    for key in catalog.KEY_LABELS:  # some labels carry their own "(ms)" or "(top 50)"
        text = text.replace(catalog.key_label(key), "")
    assert "(" not in text


def _same_connector(node: ft.Node, connector: str) -> ft.Node:
    if isinstance(node, Condition):
        return node
    return Group(connector, tuple(_same_connector(c, connector) for c in node.children))


# --- builder operations --------------------------------------------------------------------------


@st.composite
def tree_and_path(draw, groups_only: bool = False, allow_root: bool = False):
    _, tree = draw(valid_trees())
    paths = [p for p, n in ft.walk(tree) if (allow_root or p) and (isinstance(n, Group) or not groups_only)]
    assume(paths)
    return tree, draw(st.sampled_from(paths))


@LIGHT
@given(tree_and_path())
def test_clone_then_remove_the_copy_is_identity(case):
    tree, path = case
    try:
        cloned = ft.clone(tree, path)
    except ft.FilterError:
        return
    assert ft.get(cloned, (*path[:-1], path[-1] + 1)) == ft.get(tree, path)
    assert ft.remove(cloned, (*path[:-1], path[-1] + 1)) == tree
    assert ft.remove(cloned, path) == tree


@LIGHT
@given(tree_and_path(), st.sampled_from([-1, 1]))
def test_move_then_move_back_is_identity(case, delta):
    tree, path = case
    moved = ft.move(tree, path, delta)
    if moved == tree:
        return
    assert ft.get(moved, ft.moved_path(path, delta)) == ft.get(tree, path)
    assert ft.move(moved, ft.moved_path(path, delta), -delta) == tree


@LIGHT
@given(tree_and_path(groups_only=True, allow_root=True))
def test_adding_then_removing_is_identity(case):
    tree, path = case
    size = len(ft.get(tree, path).children)
    for add in (ft.add_condition, ft.add_group):
        try:
            grown = add(tree, path)
        except ft.FilterError:
            continue
        assert ft.remove(grown, (*path, size)) == tree


@LIGHT
@given(tree_and_path(groups_only=True, allow_root=True))
def test_switching_connector_back_and_forth_is_identity(case):
    tree, path = case
    old = ft.get(tree, path).connector
    other = "or" if old == "and" else "and"
    switched = ft.set_connector(tree, path, other)
    assert ft.get(switched, path).connector == other
    assert ft.set_connector(switched, path, old) == tree
    assert ft.set_connector(tree, path, "xor") == tree


@LIGHT
@given(valid_trees(), st.lists(st.integers(-2, 9), max_size=6).map(tuple))
def test_stale_or_forged_paths_are_no_ops(case, path):
    _, tree = case
    assume(ft.get(tree, path) is None)
    for result in (
        ft.remove(tree, path),
        ft.clone(tree, path),
        ft.move(tree, path, 1),
        ft.add_condition(tree, path),
        ft.add_group(tree, path),
        ft.set_connector(tree, path, "or"),
        ft.set_node(tree, path, Condition("country", "eq", "FR")),
    ):
        assert result == tree


def test_builder_refuses_to_grow_past_the_limits():
    """Adding past MAX_CONDITIONS or nesting past MAX_DEPTH is refused with a message."""
    full = Group("and", tuple(Condition("country", "eq", str(i)) for i in range(ft.MAX_CONDITIONS)))
    with pytest.raises(ft.FilterError, match="at most 50 conditions"):
        ft.add_condition(full, ())
    with pytest.raises(ft.FilterError):
        ft.clone(full, (3,))
    assert len(ft.remove(full, (0,)).children) == ft.MAX_CONDITIONS - 1
    tree, path = ft.EMPTY, ()
    for _ in range(ft.MAX_DEPTH - 1):
        tree = ft.add_group(tree, path)
        path = (*path, len(ft.get(tree, path).children) - 1)
    assert ft.depth(tree) == ft.MAX_DEPTH
    with pytest.raises(ft.FilterError, match="levels deep"):
        ft.add_group(tree, path)
    assert ft.add_condition(tree, path) != tree


@LIGHT
@given(valid_trees())
def test_drop_inapplicable_keeps_trees_that_still_apply(case):
    metric, tree = case
    assert ft.drop_inapplicable(tree, metric) == (tree, ())


@LIGHT
@given(valid_trees(), st.sampled_from(catalog.BASE_METRICS))
def test_changing_the_base_metric_drops_exactly_what_no_longer_applies(case, new_metric):
    """After a metric change, what remains validates as far as keys and operators go, and the
    dropped conditions are exactly those the new metric can't use."""
    _, tree = case
    kept, dropped = ft.drop_inapplicable(tree, new_metric)
    assert not [e for e in ft.validate(kept, new_metric) if e.field in ("key", "op")]
    for path, node in dropped:
        assert ft.get(tree, path) == node
        spec = new_metric.filter(node.key)
        assert spec is None or node.op not in spec.supported_ops
    assert len(ft.conditions(kept)) + len(dropped) == len(ft.conditions(tree))


def test_drop_inapplicable_names_what_went():
    tree = Group("and", (Condition("has_anr", "eq", "yes"), Condition("country", "eq", "FR"), Condition()))
    kept, dropped = ft.drop_inapplicable(tree, catalog.get("crashes_total"))
    assert kept == Group("and", (Condition("country", "eq", "FR"), Condition()))
    assert dropped == (((0,), Condition("has_anr", "eq", "yes")),)


def test_conform_reshapes_values_for_a_changed_key():
    """Picking a range key after typing text keeps the text as the start, and picks a supported op."""
    tree = Group("and", (Condition("status_code", "in", "404"), Condition("session_property", "eq", "x")))
    assert ft.conform(tree, NETWORK).children[0] == Condition("status_code", "eq", Range("404", ""))
    assert ft.conform(tree, SESSIONS).children[1] == Condition("session_property", "eq", Property("", "x"))
    back = Group("and", (Condition("country", "eq", Range("FR", "")),))
    assert ft.conform(back, SESSIONS).children[0].value == "FR"


def test_paths_read_and_write_as_form_text():
    assert ft.path_str(()) == "0" and ft.path_str((2, 1)) == "0.2.1"
    assert ft.parse_path("0.2.1") == (2, 1) and ft.parse_path("0") == ()
    for bad in ("", "1.2", "0..1", "0.01", "0.99999", "0.-1", "0.1 ", None):
        assert ft.parse_path(bad) is None


def test_form_reads_a_posted_querydict():
    """Real posted data works as is; a repeated field counts by its last value, as Django reads it."""
    from django.http import QueryDict

    posted = QueryDict(
        "filter-0-connector=or&filter-0.0-key=model&filter-0.0-op=like&filter-0.0-value=a&"
        "filter-0.0-value=Pixel+8&filter-0.1-key=country&filter-0.1-op=in&filter-0.1-value=FR%0D%0ADE"
    )
    tree = ft.from_form(posted)
    assert tree == Group(
        "or", (Condition("model", "like", "Pixel 8"), Condition("country", "in", "FR\r\nDE"))
    )
    assert ft.to_json(tree) == {
        "op": "or",
        "children": [
            {"field_op": "like", "key": "model", "val": "Pixel 8"},
            {"field_op": "in", "key": "country", "val": ["FR", "DE"]},
        ],
    }
