"""The bounded JSON reader: within its limits it reads exactly what ``json.loads`` reads; past them it
says which limit and where, whatever is inside strings."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics_ui import bounded_json

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\0123456789 ab\n'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@given(values)
def test_anything_within_the_limits_reads_as_json_loads_reads_it(value):
    text = json.dumps(value)
    assert bounded_json.loads(text) == json.loads(text)


def test_brackets_and_digits_inside_strings_are_not_counted():
    text = json.dumps({"val": "[" * 500 + "7" * 500})
    assert bounded_json.loads(text) == {"val": "[" * 500 + "7" * 500}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":\n  ' + "[" * 70 + "]" * 70 + "}", "nested more than 64 levels deep (at line 2, column 66)"),
        ('{"a": -' + "1" * 101 + "}", "more than 100 digits (at line 1, column 8)"),
        (b"\xff\xfe", "characters that aren't text"),
    ],
    ids=["deep", "long number", "not text"],
)
def test_over_a_limit_is_refused_in_words(text, expected):
    with pytest.raises(bounded_json.Refused) as refused:
        bounded_json.loads(text)
    assert expected in refused.value.message


def test_broken_json_is_left_to_the_caller_to_explain():
    with pytest.raises(json.JSONDecodeError):
        bounded_json.loads('{"a": [1, 2}')


@pytest.mark.parametrize(
    ("data", "flagged"),
    [
        (b"[" * 65 + b"]" * 65, True),
        (b'{"a": ' + b"9" * 101 + b"}", True),
        (b"[" * 64 + b"]" * 64, False),
        (b'{"a": ' + b"9" * 100 + b"}", False),
        (
            json.dumps(
                {"results": [{"name": "m", "filters": {"op": "and", "children": []}}] * 1000}
            ).encode(),
            False,
        ),
    ],
    ids=["65-deep", "101-digit number", "64-deep", "100-digit number", "a long ordinary list"],
)
def test_the_first_look_on_bytes_flags_every_body_over_a_limit_and_no_ordinary_one(data, flagged):
    """What the metric list relies on before handing its bytes to another parser."""
    assert bounded_json.suspect(data) is flagged
