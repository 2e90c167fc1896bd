"""The filter linter: what it flags, and that its one-click fixes keep what the filter matches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_ui import filter_tree as ft
from metrics_ui.filter_tree import Condition, Group

SETTINGS = settings(max_examples=200, deadline=None)

# A small world, so that duplicates and contradictions come up often: three keys of three types,
# values spelled several ways ("12" and "+12" are the same whole number, "yes" and "true" too).
VALUES = {
    "os_version": ["12", "13", "12 "],
    "os_major_version": ["12", "+12", "13", "x"],
    "has_anr": ["yes", "no", "true"],
}
OPS = ["eq", "neq", "in"]


def matches(node: ft.Node, record: dict[str, str]) -> bool | None:
    """Whether ``record`` passes ``node``, as the upstream would decide it.

    ``None`` means "no constraint": an empty group, which its parent ignores (see the module
    docstring). Whole numbers and yes/no compare by meaning, text compares exactly.
    """
    if isinstance(node, Condition):

        def norm(text: str) -> object:
            parsed = ft._parse_int(text) if ft.key_type(node.key) == "int" else None
            parsed = ft._parse_bool(text) if ft.key_type(node.key) == "boolean" else parsed
            return text if parsed is None else parsed

        actual = norm(record[node.key])
        if node.op == "in":
            return actual in {norm(v) for v in ft.split_values(node.value)}
        return (actual == norm(node.value)) == (node.op == "eq")
    results = [r for r in (matches(c, record) for c in node.children) if r is not None]
    if not results:
        return None
    return all(results) if node.connector == "and" else any(results)


def passes(tree: Group, record: dict[str, str]) -> bool:
    return matches(tree, record) is not False


@st.composite
def conditions(draw) -> Condition:
    key = draw(st.sampled_from(sorted(VALUES)))
    op = draw(st.sampled_from(OPS))
    if op == "in":
        value = "\n".join(draw(st.lists(st.sampled_from(VALUES[key]), min_size=1, max_size=2)))
    else:
        value = draw(st.sampled_from(VALUES[key]))
    return Condition(key, op, value)


nodes = st.recursive(
    conditions(),
    lambda inner: st.builds(Group, st.sampled_from(ft.CONNECTORS), st.lists(inner, max_size=3).map(tuple)),
    max_leaves=8,
)
trees = st.builds(Group, st.sampled_from(ft.CONNECTORS), st.lists(nodes, max_size=4).map(tuple))
records = st.fixed_dictionaries({key: st.sampled_from(values) for key, values in VALUES.items()})


@SETTINGS
@given(trees, st.lists(records, min_size=8, max_size=8))
def test_fixes_keep_what_the_filter_matches_except_contradictions_as_stated(tree, sample):
    """Every fix but a contradiction's leaves every record's fate alone; a contradiction's fix
    removes exactly the later condition, whose group matched nothing, and only widens the filter."""
    for warning in ft.lint(tree):
        fixed = ft.apply_fix(tree, warning)
        assert fixed != tree
        if warning.code == "contradiction":
            assert fixed == ft.remove(tree, warning.paths[0])
            group = ft.get(tree, warning.paths[0][:-1])
            assert not any(matches(group, r) for r in sample)
            assert all(passes(fixed, r) for r in sample if passes(tree, r))
        else:
            assert [passes(fixed, r) for r in sample] == [passes(tree, r) for r in sample]


@SETTINGS
@given(trees)
def test_fixing_every_warning_in_turn_ends_with_a_clean_tree(tree):
    """Applying the first warning's fix again and again terminates with nothing left to flag."""
    for _ in range(sum(1 for _ in ft.walk(tree)) + 1):
        warnings = ft.lint(tree)
        if not warnings:
            break
        tree = ft.apply_fix(tree, warnings[0])
    assert ft.lint(tree) == []


@SETTINGS
@given(trees)
def test_warnings_point_at_real_nodes_and_ids_round_trip(tree):
    """Each warning names nodes that exist, and its id (posted by the fix button) finds it again."""
    for warning in ft.lint(tree):
        assert all(ft.get(tree, p) is not None for p in warning.paths)
        assert ft.apply_fix(tree, warning.id) == ft.apply_fix(tree, warning)
        assert warning.message and warning.fix_label


def test_contradiction_in_an_all_of_group_is_flagged_and_fixed_by_removing_the_later_one():
    tree = Group("and", (Condition("os_version", "eq", "12"), Condition("os_version", "eq", "13")))
    [warning] = ft.lint(tree)
    assert warning.code == "contradiction"
    assert warning.paths == ((1,), (0,))
    assert warning.message == (
        "“OS version is 12” and “OS version is 13” can't both be true, so this group never counts "
        "anything. The fix removes “OS version is 13”."
    )
    assert ft.apply_fix(tree, warning) == Group("and", (Condition("os_version", "eq", "12"),))


def test_equal_and_not_equal_the_same_value_is_a_contradiction():
    tree = Group("and", (Condition("has_anr", "eq", "yes"), Condition("has_anr", "neq", "true")))
    assert [w.code for w in ft.lint(tree)] == ["contradiction"]


def test_different_values_in_an_any_of_group_are_fine():
    tree = Group("or", (Condition("os_version", "eq", "12"), Condition("os_version", "eq", "13")))
    assert ft.lint(tree) == []


def test_duplicates_are_found_by_meaning_and_the_second_is_removed():
    tree = Group(
        "or",
        (
            Condition("os_major_version", "eq", "12"),
            Condition("country", "eq", "FR"),
            Condition("os_major_version", "eq", "+12"),
        ),
    )
    [warning] = ft.lint(tree)
    assert (warning.code, warning.paths) == ("duplicate", ((2,), (0,)))
    assert ft.apply_fix(tree, warning) == Group("or", tree.children[:2])


def test_empty_and_single_child_groups_are_flagged_and_fixed():
    inner = Condition("country", "eq", "FR")
    tree = Group("and", (Group("or", ()), Group("or", (inner,)), Condition("os_version", "eq", "1")))
    assert [(w.code, w.paths) for w in ft.lint(tree)] == [("empty-group", ((0,),)), ("single-child", ((1,),))]
    assert ft.apply_fix(tree, "empty-group:0.0") == Group("and", tree.children[1:])
    assert ft.apply_fix(tree, "single-child:0.1") == Group("and", (tree.children[0], inner, tree.children[2]))


def test_a_root_holding_a_single_group_becomes_that_group():
    inner = Group("or", (Condition("country", "eq", "FR"), Condition("country", "eq", "DE")))
    tree = Group("and", (inner,))
    assert ft.apply_fix(tree, "single-child:0") == inner
    assert ft.lint(Group("and", (Condition("country", "eq", "FR"),))) == []


def test_unfinished_conditions_and_stale_fixes_are_left_alone():
    """Blank conditions the person is still filling in raise no warnings; an old fix id does nothing."""
    tree = Group("and", (Condition(), Condition(), Condition("os_version", "eq", "")))
    assert ft.lint(tree) == []
    assert ft.apply_fix(tree, "duplicate:0.1:0.0") == tree
    assert ft.apply_fix(tree, "nonsense") == tree
