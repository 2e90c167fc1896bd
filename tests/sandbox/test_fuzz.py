"""Hypothesis-generated requests never make the sandbox answer 5xx, and every answer is documented JSON.

These use Django's test client for speed (hundreds of requests); the same views answer over HTTP in
test_api.py. The database is shared by the examples of one test, so names also collide (409).
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics_ui import catalog
from sandbox import validation

pytestmark = pytest.mark.django_db

URL = "/custom-metrics/api/v1/app/{app_id}/custom-metrics"
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYS = sorted(
    {f.name for m in catalog.BASE_METRICS for f in m.filters}
    | {g for m in catalog.BASE_METRICS for g in m.group_by}
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        KEYS + list(catalog.OPERATORS) + list(catalog.GRANULARITIES) + list(catalog.DESTINATIONS)
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
values = st.one_of(
    json_values,
    st.fixed_dictionaries({"start": json_values, "end": json_values}),
    st.fixed_dictionaries({"property_key": json_values, "property_values": json_values}),
    st.lists(st.text(max_size=5) | st.integers(-3, 3), max_size=4),
)
conditions = st.fixed_dictionaries(
    {
        "field_op": st.sampled_from(catalog.OPERATORS) | json_values,
        "key": st.sampled_from(KEYS) | json_values,
    },
    optional={"val": values, "extra": json_values},
)
trees = st.recursive(
    conditions,
    lambda inner: st.fixed_dictionaries(
        {"op": st.sampled_from(["and", "or", "not"]) | json_values, "children": st.lists(inner, max_size=4)}
    ),
    max_leaves=12,
)
names = st.from_regex(catalog.NAME_PATTERN, fullmatch=True) | st.text(max_size=10) | json_values
bodies = st.fixed_dictionaries(
    {},
    optional={
        "name": names,
        "metric": st.sampled_from(list(catalog.CATALOG)) | json_values,
        "group_by": st.lists(st.sampled_from(KEYS) | st.text(max_size=25), max_size=4) | json_values,
        "filters": trees | st.just({}) | json_values,
        "time_granularity": st.lists(st.sampled_from(catalog.GRANULARITIES), max_size=4) | json_values,
        "data_destination": st.lists(st.sampled_from(catalog.DESTINATIONS), max_size=4) | json_values,
        "unexpected": json_values,
    },
)


text_values = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)
int_values = st.integers(validation.INT_MIN, validation.INT_MAX)
TYPED = {
    "string": text_values,
    "int": int_values,
    "boolean": st.booleans(),
    "range": st.tuples(int_values, int_values).map(lambda p: {"start": min(p), "end": max(p)}),
    "property": st.fixed_dictionaries(
        {
            "property_key": text_values,
            "property_values": st.lists(text_values, min_size=1, max_size=3, unique=True),
        }
    ),
}


def valid_condition(spec: catalog.FilterSpec):
    def with_op(op: str):
        val = TYPED[spec.type]
        if op == "in":
            val = st.lists(val, min_size=1, max_size=3, unique_by=lambda v: json.dumps(v, sort_keys=True))
        return st.fixed_dictionaries({"field_op": st.just(op), "key": st.just(spec.name), "val": val})

    return st.sampled_from(spec.supported_ops).flatmap(with_op)


def group(children):
    return st.fixed_dictionaries({"op": st.sampled_from(validation.GROUP_OPS), "children": children})


def valid_body(base: catalog.BaseMetric):
    conditions = st.sampled_from(base.filters).flatmap(valid_condition)
    tree = st.recursive(
        conditions, lambda inner: group(st.lists(inner, min_size=1, max_size=3)), max_leaves=8
    )
    forms = [f"{g}.city" if g in catalog.PROPERTY_GROUP_BYS else g for g in base.group_by]
    return st.fixed_dictionaries(
        {
            "name": st.from_regex(catalog.NAME_PATTERN, fullmatch=True).filter(
                lambda n: len(n) <= catalog.NAME_MAX_LENGTH
            ),
            "metric": st.just(base.metric),
        },
        optional={
            "group_by": st.lists(st.sampled_from(forms), unique=True, max_size=4),
            "filters": st.just({}) | group(st.lists(tree, min_size=1, max_size=3)),
            "time_granularity": st.lists(st.sampled_from(base.time_granularity), unique=True),
            "data_destination": st.lists(st.sampled_from(base.data_destination), unique=True),
        },
    )


def depth(node) -> int:
    if isinstance(node, dict) and "children" in node:
        return 1 + max(depth(child) for child in node["children"])
    return 0


def assert_documented(response, allowed: set[int]) -> dict | list | None:
    assert response.status_code in allowed, response.content[:300]
    if response.status_code == 204:
        assert response.content == b""
        return None
    payload = json.loads(response.content)
    if response.status_code >= 400:
        assert set(payload) == {"message"} and payload["message"].strip()
    return payload


@FUZZ
@given(body=bodies)
def test_generated_bodies_never_cause_a_server_error(client, seed, body):
    """Near-valid and broken bodies alike answer 200, 400 or 409, never 5xx; a 200 stores a valid body."""
    response = client.post(
        URL.format(app_id="appID1"),
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {seed['token']}"},
    )
    payload = assert_documented(response, {200, 400, 409})
    if response.status_code == 200:
        stored = {k: v for k, v in payload.items() if k not in ("custom_metric_id", "app_id")}
        assert validation.validate_create(stored) == stored


@settings(FUZZ, max_examples=200)
@given(body=st.sampled_from(catalog.BASE_METRICS).flatmap(valid_body))
def test_generated_valid_bodies_are_stored_and_echoed(client, seed, body):
    """Any body within the rules is created (or is a 409 duplicate) and echoed with defaults applied."""
    response = client.post(
        URL.format(app_id="appID1"),
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {seed['token']}"},
    )
    if depth(body.get("filters", {})) > validation.MAX_FILTER_DEPTH:
        assert_documented(response, {400})
        return
    payload = assert_documented(response, {200, 409})
    if response.status_code == 200:
        expected = {
            "app_id": "appID1",
            "filters": {},
            "group_by": [],
            **body,
            "time_granularity": body.get("time_granularity") or ["hourly"],
            "data_destination": body.get("data_destination") or ["metrics_api"],
        }
        assert {k: v for k, v in payload.items() if k != "custom_metric_id"} == expected


@FUZZ
@given(body=json_values)
def test_arbitrary_json_never_causes_a_server_error(client, seed, body):
    """Any JSON document answers 200, 400 or 409, never 5xx."""
    response = client.post(
        URL.format(app_id="appID1"),
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {seed['token']}"},
    )
    assert_documented(response, {200, 400, 409})


@settings(FUZZ, max_examples=150)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_cause_a_server_error(client, seed, raw):
    """Any bytes as a body answer 400 (or, if they happen to be a valid body, 200/409), never 5xx."""
    response = client.generic(
        "POST",
        URL.format(app_id="appID1"),
        data=raw,
        content_type="application/octet-stream",
        headers={"Authorization": f"Bearer {seed['token']}"},
    )
    assert_documented(response, {200, 400, 409})


@settings(FUZZ, max_examples=200)
@given(app_id=st.text(max_size=80), name=st.text(max_size=200), token=st.text(max_size=40))
def test_arbitrary_path_segments_and_tokens_never_cause_a_server_error(client, seed, app_id, name, token):
    """Any app id, metric name or token in a request answers a documented 4xx (or 204), never 5xx."""
    app = quote(app_id, safe="")
    auth = {"Authorization": f"Bearer {token or seed['token']}"}
    for token_header in (auth, {"Authorization": f"Bearer {seed['token']}"}):
        headers = {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in token_header.items()}
        assert_documented(client.get(URL.format(app_id=app), headers=headers), {200, 400, 403, 404})
        assert_documented(
            client.delete(URL.format(app_id=app) + "/" + quote(name, safe=""), headers=headers),
            {204, 400, 403, 404},
        )
        assert_documented(
            client.get(URL.format(app_id=app) + "/parameters", {"name": name}, headers=headers),
            {200, 400, 403, 404},
        )
