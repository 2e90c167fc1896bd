"""Lists typed the way people write them: commas or new lines, quotes for a value with a comma."""

from hypothesis import given
from hypothesis import strategies as st

from metrics_ui import catalog
from metrics_ui import filter_tree as ft
from metrics_ui.filter_tree import Condition, Group

NETWORK = catalog.get("network_requests_total")
SESSIONS = catalog.get("sessions_total")


def test_values_separated_by_commas_are_separate_values():
    assert ft.split_values("GET, POST") == ["GET", "POST"]
    assert ft.split_values("GET,POST,PUT") == ["GET", "POST", "PUT"]


def test_values_on_separate_lines_are_separate_values():
    assert ft.split_values("GET\nPOST\r\nPUT") == ["GET", "POST", "PUT"]


def test_commas_and_lines_mix():
    assert ft.split_values("GET, POST\nPUT") == ["GET", "POST", "PUT"]


def test_a_value_with_a_comma_is_written_in_double_quotes():
    assert ft.split_values('"Paris, TX", London') == ["Paris, TX", "London"]
    assert ft.split_values('"say ""hi"""') == ['say "hi"']


def test_spaces_are_trimmed_and_empty_entries_dropped():
    assert ft.split_values("  GET ,, ,POST  \n\n   \n, PUT,") == ["GET", "POST", "PUT"]
    assert ft.split_values("") == []
    assert ft.split_values(" , \n ,") == []


def test_a_list_written_back_reads_the_same():
    values = ["Paris, TX", "London", 'say "hi"', "GET"]
    assert ft.join_values(values) == '"Paris, TX"\nLondon\n"say ""hi"""\nGET'
    assert ft.split_values(ft.join_values(values)) == values


@given(st.lists(st.text("ab ,\"'é“", min_size=1, max_size=8).map(str.strip).filter(bool), max_size=6))
def test_any_list_round_trips_through_the_form_text(values):
    assert ft.split_values(ft.join_values(values)) == values


def test_typed_commas_reach_the_request_body_as_a_list():
    tree = Group("and", (Condition("method", "in", "GET, POST"),))
    assert ft.to_json(tree, NETWORK) == {
        "op": "and",
        "children": [{"field_op": "in", "key": "method", "val": ["GET", "POST"]}],
    }


def test_pasted_json_with_a_comma_in_a_value_keeps_it_one_value():
    tree = ft.from_json({"field_op": "in", "key": "country", "val": ["Paris, TX", "London"]})
    assert tree.children[0].value == '"Paris, TX"\nLondon'
    assert ft.to_json(tree, SESSIONS)["children"][0]["val"] == ["Paris, TX", "London"]


def test_the_sentence_quotes_each_value():
    tree = Group("and", (Condition("method", "in", "GET, POST"),))
    assert ft.sentence(tree, NETWORK) == "method is one of “GET” or “POST”"
    three = Group("and", (Condition("country", "in", 'FR, DE, "Paris, TX"'),))
    assert ft.sentence(three, SESSIONS) == "country is one of “FR”, “DE” or “Paris, TX”"


def test_a_list_over_the_limit_gets_a_plain_message():
    typed = ", ".join(f"v{i}" for i in range(ft.MAX_LIST_VALUES + 1))
    errors = ft.validate(Group("and", (Condition("country", "in", typed),)), SESSIONS)
    assert [e.message for e in errors] == [
        f"A list can have at most {ft.MAX_LIST_VALUES} values; this one has {ft.MAX_LIST_VALUES + 1}. "
        "Split it into two conditions joined by “any of”."
    ]
    at_limit = ", ".join(f"v{i}" for i in range(ft.MAX_LIST_VALUES))
    assert ft.validate(Group("and", (Condition("country", "in", at_limit),)), SESSIONS) == []


def test_an_empty_list_says_how_to_type_one():
    errors = ft.validate(Group("and", (Condition("country", "in", " , "),)), SESSIONS)
    assert [e.message for e in errors] == [
        "Enter at least one value for country, separated by commas or new lines."
    ]
