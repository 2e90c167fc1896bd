"""The upstream module against a misbehaving server on loopback (tests/faults.py).

Every test counts what the server actually received, so "never retried" and "no request made" are
observed on the wire, not inferred.
"""

import contextlib
import dataclasses
import json
import logging
import re
import threading
import time

import pytest
from prometheus_client import REGISTRY

from metrics_ui import catalog, upstream
from metrics_ui.observability import current_request_id
from tests.faults import Forward, Hang, Reset, Respond, big_json, html

TOKEN = "3f9a0c1e5b7d4a2c8e6f1b0d9c7a5e3f"
APP = "appID1"
METRIC = {
    "custom_metric_id": "y8vayvn",
    "app_id": APP,
    "name": "sessions_total_v1",
    "metric": "sessions_total",
    "filters": {"op": "and", "children": [{"field_op": "eq", "key": "os_version", "val": "12"}]},
    "group_by": ["app_version"],
    "time_granularity": ["five_minute", "hourly"],
    "data_destination": ["metrics_api", "newrelic"],
}
BODY = {k: v for k, v in METRIC.items() if k not in {"custom_metric_id", "app_id"}}


@pytest.fixture
def client(fast_upstream_settings, fault_upstream) -> upstream.Client:
    return upstream.Client(TOKEN, "sandbox")


# --- Success paths ---------------------------------------------------------------------------------


def test_list_returns_frozen_metrics_parsed_from_the_json(client, fault_upstream):
    fault_upstream.json({"results": [METRIC]})

    (metric,) = client.list_metrics(APP)

    assert metric == upstream.CustomMetric(
        custom_metric_id="y8vayvn",
        app_id=APP,
        name="sessions_total_v1",
        metric="sessions_total",
        filters=METRIC["filters"],
        group_by=("app_version",),
        time_granularity=("five_minute", "hourly"),
        data_destination=("metrics_api", "newrelic"),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric.name = "other"  # type: ignore[misc]
    (seen,) = fault_upstream.requests
    assert (seen.method, seen.path) == ("GET", "/custom-metrics/api/v1/app/appID1/custom-metrics")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"


def test_list_applies_documented_defaults_when_fields_are_missing(client, fault_upstream):
    bare = {"custom_metric_id": "abcdefg", "app_id": APP, "name": "n", "metric": "sessions_total"}
    fault_upstream.json({"results": [bare]})

    (metric,) = client.list_metrics(APP)

    assert (metric.filters, metric.group_by) == ({}, ())
    assert (metric.time_granularity, metric.data_destination) == (("hourly",), ("metrics_api",))


def test_create_sends_the_body_once_and_returns_the_stored_metric(client, fault_upstream):
    fault_upstream.json(METRIC)

    created = client.create_metric(APP, BODY)

    assert created.custom_metric_id == "y8vayvn"
    assert created.same_definition(BODY)
    (seen,) = fault_upstream.requests
    assert seen.method == "POST" and seen.json() == BODY


def test_delete_goes_to_the_metric_path_and_accepts_204(client, fault_upstream):
    fault_upstream.respond(204)

    assert client.delete_metric(APP, "sessions_total_v1") is None
    assert (
        fault_upstream.requests[0].path
        == "/custom-metrics/api/v1/app/appID1/custom-metrics/sessions_total_v1"
    )


def test_find_metric_matches_the_exact_name_only(client, fault_upstream):
    other = {**METRIC, "name": "Sessions_total_v1", "custom_metric_id": "zzzzzzz"}
    fault_upstream.json({"results": [other, METRIC]})

    assert client.find_metric(APP, "sessions_total_v1").custom_metric_id == "y8vayvn"
    assert client.find_metric(APP, "sessions_total") is None


def test_parameters_are_parsed_into_the_catalog_types(client, fault_upstream):
    fault_upstream.json([m.as_json() for m in catalog.CATALOG.values()])

    result = client.parameters(APP, "sessions_total")

    assert result["sessions_total"] == catalog.CATALOG["sessions_total"]
    assert fault_upstream.requests[0].path.endswith("/custom-metrics/parameters?name=sessions_total")


def test_parameters_of_the_wrong_shape_are_a_bad_response(client, fault_upstream):
    fault_upstream.json({"metric": "sessions_total"})

    with pytest.raises(upstream.BadResponse):
        client.parameters(APP)


def test_same_definition_applies_defaults_and_ignores_list_order():
    stored = upstream.CustomMetric(
        "abcdefg",
        APP,
        "m",
        "sessions_total",
        filters={
            "op": "and",
            "children": [
                {"field_op": "in", "key": "app_version", "val": ["1.3", "1.2"]},
                {"field_op": "eq", "key": "os_version", "val": "12"},
            ],
        },
        group_by=("country", "app_version"),
    )
    same = {
        "name": "m",
        "metric": "sessions_total",
        "group_by": ["app_version", "country"],
        "filters": {
            "children": [
                {"key": "os_version", "field_op": "eq", "val": "12"},
                {"field_op": "in", "key": "app_version", "val": ["1.2", "1.3"]},
            ],
            "op": "and",
        },
        "time_granularity": [],
    }
    assert stored.same_definition(same)
    assert not stored.same_definition({**same, "time_granularity": ["daily"]})
    assert not stored.same_definition({**same, "group_by": ["country"]})
    assert not stored.same_definition({**same, "filters": {}})
    assert upstream.CustomMetric("a", APP, "m", "sessions_total").same_definition(
        {"name": "m", "metric": "sessions_total", "filters": {"op": "and", "children": []}}
    )


# --- Each status code --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, upstream.Forbidden, "Your Embrace token was refused for app appID1"),
        (403, upstream.Forbidden, "Your Embrace token was refused for app appID1"),
        (404, upstream.NotFound, "Embrace doesn't know app appID1"),
        (409, upstream.Conflict, "conflict"),
        (500, upstream.ServerError, "Embrace had a problem. Try again in a minute."),
        (502, upstream.ServerError, "Embrace had a problem"),
        (503, upstream.ServerError, "Embrace had a problem"),
        (504, upstream.ServerError, "Embrace had a problem"),
        (429, upstream.ServerError, "Embrace is busy. Try again in a minute."),
    ],
)
def test_each_status_code_becomes_its_own_error_with_a_plain_message(
    client, fault_upstream, status, error, words
):
    fault_upstream.json({"message": "upstream words"}, status=status)

    with pytest.raises(error) as caught:
        client.list_metrics(APP)

    assert type(caught.value) is error
    assert caught.value.status == status
    assert words in caught.value.message
    assert TOKEN not in caught.value.message


def test_a_400_carries_the_upstream_message_as_data(client, fault_upstream):
    fault_upstream.json({"message": "metric <b>nope</b> doesn't exist"}, status=400)

    with pytest.raises(upstream.Rejected) as caught:
        client.create_metric(APP, BODY)

    assert caught.value.upstream_message == "metric <b>nope</b> doesn't exist"
    assert caught.value.message == "Embrace rejected the request: metric <b>nope</b> doesn't exist"


def test_a_400_that_echoes_the_token_has_it_masked(client, fault_upstream):
    fault_upstream.json({"message": f"bad token {TOKEN}"}, status=400)

    with pytest.raises(upstream.Rejected) as caught:
        client.create_metric(APP, BODY)

    assert TOKEN not in caught.value.message and TOKEN not in caught.value.upstream_message


def test_a_404_on_delete_says_it_was_already_deleted(client, fault_upstream):
    fault_upstream.json({"message": "metric m doesn't exist"}, status=404)

    with pytest.raises(upstream.NotFound, match="already deleted"):
        client.delete_metric(APP, "m")


def test_a_409_on_create_names_the_metric_and_the_app(client, fault_upstream):
    fault_upstream.json({"message": "already exists"}, status=409)

    with pytest.raises(upstream.Conflict) as caught:
        client.create_metric(APP, BODY)

    assert caught.value.message == "A metric named sessions_total_v1 already exists in app appID1."
    assert fault_upstream.count("POST") == 1


def test_a_429_says_how_long_to_wait(client, fault_upstream, monkeypatch):
    monkeypatch.setattr(upstream, "RETRY_AFTER_CAP_SECONDS", 0)
    fault_upstream.json({"message": "slow down"}, status=429, headers={"Retry-After": "40"})

    with pytest.raises(upstream.ServerError) as caught:
        client.create_metric(APP, BODY)

    assert caught.value.retry_after == 40
    assert caught.value.message == "Embrace is busy. Try again in 40 seconds."


# --- Refused, timeout, reset ---------------------------------------------------------------------------


def test_a_refused_connection_is_unavailable_and_nothing_reached_embrace(
    fast_upstream_settings, closed_port_url
):
    client = upstream.Client(TOKEN, "sandbox")

    with pytest.raises(upstream.Unavailable) as caught:
        client.create_metric(APP, BODY)

    assert caught.value.message == "Can't reach Embrace right now. Try again in a minute."
    assert (caught.value.timed_out, caught.value.may_have_reached) == (False, False)


def test_a_read_that_times_out_is_unavailable_and_says_so(client, fault_upstream):
    fault_upstream.hang()

    with pytest.raises(upstream.Unavailable) as caught:
        client.list_metrics(APP)

    assert caught.value.timed_out is True
    assert caught.value.message == "Embrace didn't answer in time. Try again in a minute."


def test_a_reset_before_the_answer_is_unavailable(client, fault_upstream):
    fault_upstream.reset()

    with pytest.raises(upstream.Unavailable) as caught:
        client.list_metrics(APP)

    assert caught.value.message == "The connection to Embrace was cut off. Try again in a minute."
    assert caught.value.timed_out is False


def test_a_reset_mid_body_is_unavailable_not_a_crash(client, fault_upstream):
    fault_upstream.reset(body={"results": [METRIC, METRIC, METRIC]})

    with pytest.raises(upstream.Unavailable, match="cut off"):
        client.list_metrics(APP)
    # The headers had arrived, so urllib3 can no longer retry: one attempt.
    assert fault_upstream.count() == 1


def test_a_slow_but_steady_answer_is_not_cut_off(client, fault_upstream):
    """The read timeout bounds each silence, not the whole answer."""
    fault_upstream.respond(200, {"results": [METRIC] * 20}, drip=0.05)

    assert len(client.list_metrics(APP)) == 20


def test_an_answer_slower_than_the_read_timeout_is_a_timeout(client, fault_upstream):
    fault_upstream.respond(200, {"results": []}, delay=1.5)

    with pytest.raises(upstream.Unavailable) as caught:
        client.list_metrics(APP)
    assert caught.value.timed_out


# --- Bad responses -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        Respond(200, "this is not json", {"Content-Type": "text/plain"}),
        Respond(200, html("Welcome"), {"Content-Type": "text/html"}),
        Respond(200, '{"results": [{"custom_metric_id": "abc'),
        Respond(200, {"metrics": []}),
        Respond(200, {"results": {"name": "x"}}),
        Respond(200, {"results": [{"name": "x", "metric": "sessions_total"}]}),
        Respond(200, {"results": [{**METRIC, "group_by": "app_version"}]}),
        Respond(200, {"results": [{**METRIC, "filters": ["os_version"]}]}),
        Respond(200, [1, 2, 3]),
        Respond(200, "NaN"),
        Respond(200, "[" * 100_000),
    ],
    ids=[
        "text",
        "html",
        "truncated",
        "missing-results",
        "results-not-list",
        "missing-fields",
        "group-by-string",
        "filters-list",
        "array",
        "nan",
        "deep",
    ],
)
def test_an_unusable_200_is_a_bad_response(client, fault_upstream, answer):
    fault_upstream.script([answer])

    with pytest.raises(upstream.BadResponse) as caught:
        client.list_metrics(APP)

    assert caught.value.message == "Embrace answered in an unexpected way. Try again in a minute."


def _list_with(**fields) -> str:
    """A one-metric list body with ``fields`` spliced in as raw JSON text (so it can be any text)."""
    extra = "".join(f', "{key}": {text}' for key, text in fields.items())
    return (
        '{"results": [{"custom_metric_id": "a", "app_id": "appID1", "name": "n", "metric": "m"'
        + extra
        + "}]}"
    )


@pytest.mark.parametrize(
    "body",
    [
        _list_with(filters='{"a": ' * 10_000 + "1" + "}" * 10_000),
        _list_with(filters='{"a": ' * 100 + "1" + "}" * 100),
        _list_with(padding="[" * 10_000 + "]" * 10_000),
        _list_with(filters='{"val": ' + "9" * 5_000 + "}"),
        _list_with(padding="9" * 5_000),
        _list_with(filters='{"val": ' + "9" * 200 + "}"),
        _list_with(filters='{"val": NaN}'),
        _list_with(filters='"os_version"'),
        _list_with(filters="7"),
        _list_with(group_by='["app_version", 3]'),
        _list_with(time_granularity='"hourly"'),
        '{"results": null}',
        '{"results": [{"custom_metric_id": "a", "app_id": "appID1", "name": null, "metric": "m"}]}',
        '{"results": [{"custom_metric_id": "a", "app_id": "appID1", "name": "n", "metric": "m"}, 5]}',
        '{"results": [{"custom_metric_id": "a", "app_id": "appID1", "name": "\\ud800", "metric": "m"}]}',
    ],
    ids=[
        "filters-10000-deep",
        "filters-100-deep",
        "unknown-field-10000-deep",
        "filters-5000-digit-number",
        "unknown-field-5000-digit-number",
        "filters-200-digit-number",
        "filters-nan",
        "filters-string",
        "filters-number",
        "group-by-with-a-number",
        "granularity-string",
        "results-null",
        "name-null",
        "row-not-object",
        "name-lone-surrogate",
    ],
)
def test_a_list_over_the_limits_or_of_the_wrong_shape_is_a_bad_response(client, fault_upstream, body):
    """Also for shapes the list decoder skips over (filter trees, unknown fields): nothing crashes."""
    fault_upstream.respond(200, body)

    with pytest.raises(upstream.BadResponse) as caught:
        client.list_rows(APP)

    assert caught.value.message == "Embrace answered in an unexpected way. Try again in a minute."


def test_a_list_with_invalid_utf8_inside_a_filter_is_a_bad_response(client, fault_upstream):
    fault_upstream.respond(200, _list_with(filters='{"val": "x"}').encode().replace(b'"x"', b'"\xff"'))

    with pytest.raises(upstream.BadResponse):
        client.list_metrics(APP)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ({}, (), ("hourly",), ("metrics_api",))),
        (
            {"filters": "null", "group_by": "null", "time_granularity": "null", "data_destination": "null"},
            ({}, (), ("hourly",), ("metrics_api",)),
        ),
        (
            {"filters": "[]", "group_by": "[]", "time_granularity": "[]", "data_destination": "[]"},
            ({}, (), ("hourly",), ("metrics_api",)),
        ),
        ({"filters": '""'}, ({}, (), ("hourly",), ("metrics_api",))),
        ({"filters": "0"}, ({}, (), ("hourly",), ("metrics_api",))),
        ({"filters": "{}", "group_by": '["country"]'}, ({}, ("country",), ("hourly",), ("metrics_api",))),
    ],
    ids=["missing", "null", "empty-lists", "empty-string-filters", "zero-filters", "empty-filters"],
)
def test_a_list_applies_the_same_defaults_for_null_empty_and_missing_fields(
    client, fault_upstream, fields, expected
):
    fault_upstream.respond(200, _list_with(**fields))

    (metric,) = client.list_metrics(APP)

    assert (metric.filters, metric.group_by, metric.time_granularity, metric.data_destination) == expected


def test_list_rows_are_the_same_metrics_as_the_full_list(client, fault_upstream):
    """The list page reads rows and makes whole only those it shows; both must agree exactly."""
    fault_upstream.json({"results": [METRIC, {**METRIC, "name": "other", "filters": None}]})

    rows = client.list_rows(APP)

    assert [(row.name, row.metric) for row in rows] == [
        ("sessions_total_v1", "sessions_total"),
        ("other", "sessions_total"),
    ]
    assert tuple(row.full() for row in rows) == client.list_metrics(APP)
    assert rows[0].full().filters == METRIC["filters"]


def test_a_filter_with_a_long_integer_or_a_huge_float_reads_as_the_standard_parser_reads_it(
    client, fault_upstream
):
    """Within the limits (100 digits) but beyond 64 bits, or beyond a double: kept, not refused."""
    fault_upstream.respond(200, _list_with(filters='{"a": ' + "9" * 25 + ', "b": 1e400}'))

    (metric,) = client.list_metrics(APP)

    assert metric.filters == {"a": int("9" * 25), "b": float("inf")}


def test_a_list_that_starts_with_a_byte_order_mark_is_read(client, fault_upstream):
    fault_upstream.respond(200, b"\xef\xbb\xbf" + json.dumps({"results": [METRIC]}).encode())

    (metric,) = client.list_metrics(APP)

    assert metric.name == "sessions_total_v1"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_5_mb_body_is_refused_without_reading_it_all(client, fault_upstream, settings, chunked):
    settings.UPSTREAM_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
    fault_upstream.respond(200, big_json(5 * 1024 * 1024), chunked=chunked)

    with pytest.raises(upstream.BadResponse):
        client.list_metrics(APP)


def test_a_10_mb_error_body_is_refused_too(client, fault_upstream):
    fault_upstream.respond(400, big_json(10 * 1024 * 1024))

    with pytest.raises(upstream.BadResponse):
        client.create_metric(APP, BODY)


def test_a_body_just_under_the_cap_is_accepted(client, fault_upstream, settings):
    body = big_json(200_000)
    settings.UPSTREAM_MAX_RESPONSE_BYTES = len(body)
    fault_upstream.respond(200, body, chunked=True)

    assert client.list_metrics(APP) == ()


# --- Path safety ---------------------------------------------------------------------------------------

ESCAPING_APP_IDS = [
    "../x",
    "..",
    "a/b",
    "%2F",
    "app%2F..",
    "a?b=1",
    "a#b",
    "a b",
    "аppID1",
    "app\nID",
    "",
    "a" * 65,
]
ESCAPING_NAMES = ["../x", "a/b", "%2F", "m?x=1", "m#f", "m n", "mеtric", "1abc", "m-n", "a" * 129, "m.n", ""]


@pytest.mark.parametrize("app_id", ESCAPING_APP_IDS)
def test_an_app_id_that_could_escape_its_path_segment_is_refused_before_any_request(
    client, fault_upstream, app_id
):
    for call in (
        lambda: client.list_metrics(app_id),
        lambda: client.create_metric(app_id, BODY),
        lambda: client.delete_metric(app_id, "m"),
        lambda: client.parameters(app_id),
        lambda: client.find_metric(app_id, "m"),
    ):
        with pytest.raises(upstream.InvalidInput, match="valid app ID"):
            call()
    assert fault_upstream.requests == []


@pytest.mark.parametrize("name", ESCAPING_NAMES)
def test_a_metric_name_that_could_escape_its_path_segment_is_refused_before_any_request(
    client, fault_upstream, name
):
    for call in (
        lambda: client.delete_metric(APP, name),
        lambda: client.create_metric(APP, {**BODY, "name": name}),
        lambda: client.find_metric(APP, name),
        lambda: client.parameters(APP, name),
    ):
        with pytest.raises(upstream.InvalidInput, match="valid metric name"):
            call()
    assert fault_upstream.requests == []


def test_segments_are_percent_encoded_even_when_valid():
    """Defence in depth: quoting is applied to every segment, whatever validation allowed."""
    assert upstream.quote("a/b?c#d", safe="") == "a%2Fb%3Fc%23d"


def test_regions_map_to_the_documented_hosts(settings):
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/custom-metrics/"
    assert upstream.base_url("default") == "https://api.embrace.io/custom-metrics"
    assert upstream.base_url("us") == "https://api-us1.embrace.io/custom-metrics"
    assert upstream.base_url("eu") == "https://api-eu1.embrace.io/custom-metrics"
    assert upstream.base_url("sandbox") == "http://127.0.0.1:9/custom-metrics"
    assert set(upstream.REGIONS) == {"default", "us", "eu", "sandbox"}
    for region in ("http://evil.example", "EU", ""):
        with pytest.raises(upstream.InvalidInput):
            upstream.base_url(region)
        with pytest.raises(upstream.InvalidInput):
            upstream.Client(TOKEN, region)


def test_the_sandbox_region_is_refused_when_the_sandbox_is_off(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(upstream.InvalidInput, match="sandbox is switched off"):
        upstream.base_url("sandbox")


@pytest.mark.parametrize("token", ["", "abc def", "abc\r\nX-Evil: 1", "t\u00e9st"])
def test_a_token_that_could_inject_headers_is_refused(token):
    with pytest.raises(upstream.InvalidInput, match="doesn't look like an Embrace token"):
        upstream.Client(token)


# --- Attempts: reads retried with backoff, creates never ------------------------------------------------


def test_a_read_on_503_is_tried_one_plus_retries_times_with_growing_backoff(client, fault_upstream, settings):
    settings.UPSTREAM_READ_RETRIES = 2
    settings.UPSTREAM_BACKOFF_FACTOR = 0.2
    fault_upstream.respond(503, {"message": "busy"})

    with pytest.raises(upstream.ServerError):
        client.list_metrics(APP)

    _first, second, third = (r.at for r in fault_upstream.requests)
    assert fault_upstream.count("GET") == 3
    # urllib3: no pause before the first retry, then backoff_factor * 2 (+ jitter).
    assert third - second >= 0.4


def test_a_read_recovers_when_a_retry_succeeds(client, fault_upstream):
    fault_upstream.script([Respond(502), Respond(503)]).json({"results": [METRIC]})

    assert len(client.list_metrics(APP)) == 1
    assert fault_upstream.count("GET") == 3


def test_a_delete_on_503_is_retried_like_a_read(client, fault_upstream):
    fault_upstream.script([Respond(503), Respond(503)]).respond(204)

    client.delete_metric(APP, "m")
    assert fault_upstream.count("DELETE") == 3


def test_a_read_that_times_out_is_retried_once(client, fault_upstream):
    fault_upstream.hang()

    with pytest.raises(upstream.Unavailable):
        client.list_metrics(APP)
    assert fault_upstream.count("GET") == 2


def test_a_read_reset_before_the_answer_is_retried(client, fault_upstream):
    fault_upstream.script([Reset()]).json({"results": []})

    assert client.list_metrics(APP) == ()
    assert fault_upstream.count("GET") == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_create_on_a_retryable_status_is_sent_exactly_once(client, fault_upstream, status):
    fault_upstream.respond(status, {"message": "nope"}, headers={"Retry-After": "1"})

    started = time.monotonic()
    with pytest.raises(upstream.ServerError):
        client.create_metric(APP, BODY)

    assert fault_upstream.count("POST") == 1
    assert time.monotonic() - started < 0.5, "a create never waits for Retry-After"


def test_a_create_that_times_out_is_sent_once_and_may_have_reached_embrace(client, fault_upstream):
    fault_upstream.hang()

    with pytest.raises(upstream.Unavailable) as caught:
        client.create_metric(APP, BODY)

    assert fault_upstream.count("POST") == 1
    assert (caught.value.timed_out, caught.value.may_have_reached) == (True, True)


def test_a_create_reset_after_sending_is_sent_once_and_may_have_reached_embrace(client, fault_upstream):
    fault_upstream.reset()

    with pytest.raises(upstream.Unavailable) as caught:
        client.create_metric(APP, BODY)

    assert fault_upstream.count("POST") == 1
    assert (caught.value.timed_out, caught.value.may_have_reached) == (False, True)


def test_retry_after_is_honoured_for_reads(client, fault_upstream):
    fault_upstream.script([Respond(429, {"message": "later"}, {"Retry-After": "1"})]).json({"results": []})

    client.list_metrics(APP)

    first, second = (r.at for r in fault_upstream.requests)
    assert second - first >= 1.0


def test_a_long_retry_after_is_capped_for_reads(client, fault_upstream, monkeypatch):
    monkeypatch.setattr(upstream, "RETRY_AFTER_CAP_SECONDS", 0.2)
    fault_upstream.respond(503, {"message": "maintenance"}, headers={"Retry-After": "3600"})

    started = time.monotonic()
    with pytest.raises(upstream.ServerError) as caught:
        client.list_metrics(APP)

    assert time.monotonic() - started < 2
    assert fault_upstream.count("GET") == 3
    assert caught.value.retry_after == 3600


# --- Redirects, headers, cookies ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_the_other_host_never_sees_the_token(
    client, fault_upstream, fault_other_host, status
):
    fault_upstream.redirect(fault_other_host.url + "/api/v1/app/appID1/custom-metrics", status=status)

    with pytest.raises(upstream.BadResponse, match="unexpected way"):
        client.list_metrics(APP)
    with pytest.raises(upstream.BadResponse):
        client.create_metric(APP, BODY)

    assert fault_other_host.requests == []
    assert fault_upstream.count() == 2


def test_the_request_id_is_sent_with_every_call(client, fault_upstream):
    reset = current_request_id.set("req-12345678")
    try:
        client.list_metrics(APP)
        fault_upstream.json(METRIC)
        client.create_metric(APP, BODY)
    finally:
        current_request_id.reset(reset)
    client.create_metric(APP, BODY)

    ids = [r.headers["x-request-id"] for r in fault_upstream.requests]
    assert ids[:2] == ["req-12345678", "req-12345678"]
    assert re.fullmatch(r"[0-9a-f]{32}", ids[2]), "outside a request a fresh id is made"


def test_a_cookie_set_by_the_upstream_is_never_sent_back(client, fault_upstream):
    """One pooled session serves every user, so it must not carry one user's cookies to another."""
    fault_upstream.respond(200, {"results": []}, headers={"Set-Cookie": "session=abc; Path=/"})
    client.list_metrics(APP)
    upstream.Client("another-users-token-0000", "sandbox").list_metrics(APP)

    assert "cookie" not in fault_upstream.requests[1].headers


def test_the_client_repr_hides_the_token():
    assert TOKEN not in repr(upstream.Client(TOKEN))


# --- Logs and metrics ------------------------------------------------------------------------------------


def test_no_log_record_ever_contains_the_token(client, fault_upstream, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    fault_upstream.script(
        [
            Respond(200, {"results": [METRIC]}),
            Respond(503),
            Respond(503),
            Respond(503),
            Respond(400, {"message": f"token {TOKEN} is odd"}),
            Hang(),
            Hang(),
            Respond(302, b"", {"Location": "http://127.0.0.1:9/"}),
        ]
    )
    for call in (
        lambda: client.list_metrics(APP),
        lambda: client.list_metrics(APP),
        lambda: client.create_metric(APP, BODY),
        lambda: client.list_metrics(APP),
        lambda: client.list_metrics(APP),
    ):
        with contextlib.suppress(upstream.UpstreamError):
            call()

    assert any(r.name.startswith("urllib3") for r in caplog.records), (
        "urllib3's own debug lines were captured"
    )
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(vars(record))


def test_each_call_logs_one_structured_line(client, fault_upstream, caplog):
    caplog.set_level(logging.INFO, logger="metrics_ui.upstream")
    fault_upstream.script([Respond(503)]).json({"results": []})

    client.list_metrics(APP)

    (line,) = [r for r in caplog.records if r.name == "metrics_ui.upstream"]
    assert line.levelno == logging.INFO
    assert (line.method, line.path, line.app_id) == ("GET", "/api/v1/app/{app_id}/custom-metrics", APP)
    assert (line.status, line.attempts, line.outcome) == (200, 2, "ok")
    assert line.duration_ms >= 0


def test_a_failed_call_logs_a_warning_with_its_outcome(client, fault_upstream, caplog):
    caplog.set_level(logging.INFO, logger="metrics_ui.upstream")
    fault_upstream.hang()

    with pytest.raises(upstream.Unavailable):
        client.create_metric(APP, BODY)

    (line,) = [r for r in caplog.records if r.name == "metrics_ui.upstream"]
    assert line.levelno == logging.WARNING
    assert (line.method, line.status, line.attempts, line.outcome) == ("POST", None, 1, "Unavailable")


def _count(method: str, status: str) -> float:
    labels = {"method": method, "endpoint": "/api/v1/app/{app_id}/custom-metrics/{name}", "status": status}
    return REGISTRY.get_sample_value("console_upstream_requests_total", labels) or 0.0


def test_calls_are_counted_for_prometheus_by_outcome(client, fault_upstream):
    before_ok, before_timeout = _count("DELETE", "204"), _count("DELETE", "timeout")
    fault_upstream.script([Respond(204), Hang(), Hang()])

    client.delete_metric(APP, "m")
    with pytest.raises(upstream.Unavailable):
        client.delete_metric(APP, "m")

    assert _count("DELETE", "204") == before_ok + 1
    assert _count("DELETE", "timeout") == before_timeout + 1
    histogram = REGISTRY.get_sample_value(
        "console_upstream_request_seconds_count",
        {"method": "DELETE", "endpoint": "/api/v1/app/{app_id}/custom-metrics/{name}"},
    )
    assert histogram >= 2


def test_concurrent_calls_share_one_session_and_run_in_parallel(client, fault_upstream):
    """The breaker must not serialise calls: four 0.3 s answers in parallel take well under 1.2 s."""
    fault_upstream.respond(200, {"results": []}, delay=0.3)
    threads = [threading.Thread(target=client.list_metrics, args=(APP,)) for _ in range(4)]

    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert fault_upstream.count() == 4
    assert time.monotonic() - started < 0.9


def test_forward_is_for_proxies_only(fault_upstream):
    with pytest.raises(RuntimeError):
        fault_upstream.forward()
    assert Forward().then == "return"


def test_a_tls_failure_is_unavailable_with_a_plain_message(fast_upstream_settings, fault_upstream):
    """A plain-HTTP server behind an https URL fails the TLS handshake, like a bad certificate would."""
    fast_upstream_settings.SANDBOX_BASE_URL = fault_upstream.url.replace("http://", "https://")

    with pytest.raises(upstream.Unavailable, match="Can't reach Embrace securely"):
        upstream.Client(TOKEN, "sandbox").list_metrics(APP)


def test_an_unchanged_list_is_decoded_once_and_a_changed_one_afresh(client, fault_upstream):
    """Every view still asks Embrace; only a body identical to a recent one skips the decoding."""
    fault_upstream.json({"results": [METRIC]})
    first, again = client.list_rows(APP), client.list_rows(APP)

    fault_upstream.json({"results": [METRIC, {**METRIC, "name": "added_elsewhere"}]})
    changed = client.list_rows(APP)

    assert again is first and again.digest == first.digest
    assert [row.name for row in changed] == ["sessions_total_v1", "added_elsewhere"]
    assert changed.digest != first.digest


def test_a_bad_list_is_refused_every_time_it_comes(client, fault_upstream):
    fault_upstream.respond(200, _list_with(filters='{"op": "and"} trailing'))

    for _ in range(2):
        with pytest.raises(upstream.BadResponse):
            client.list_rows(APP)
