"""The sandbox's Metrics API over HTTP: Prometheus's envelopes and errors, the supported PromQL, and
Embrace's rules (step rounding, the point limit, availability delays, data from creation, tokens)."""

import itertools
import math
import time
from collections import defaultdict
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from sandbox.metrics_api import answers
from sandbox.models import CustomMetric, Organization, Token, TokenKind

HOUR = 3600
# Two days ago on the hour: inside the seeded month of history, long past every availability delay.
T = math.floor(time.time() / HOUR) * HOUR - 2 * 86400
CRASHES = "hourly_crash_count_by_version"  # app_version x os_major_version: 9 series


def series(metrics_api, query: str, start: float = T - 5 * HOUR, end: float = T, step="1h") -> dict:
    """A range query's result as {frozenset of labels: {timestamp: value}}."""
    data = metrics_api.data("query_range", {"query": query, "start": start, "end": end, "step": step})
    assert data["resultType"] == "matrix"
    return {frozenset(s["metric"].items()): {ts: float(v) for ts, v in s["values"]} for s in data["result"]}


def error(response: requests.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == error_type
    return body["error"]


def test_range_query_answers_a_prometheus_matrix_of_string_values(metrics_api):
    """query_range: {"status": "success", "data": {"resultType": "matrix", "result": [{metric, values}]}},
    each value a [unix seconds, "decimal string"] pair, one per step, named <granularity>_<name>."""
    response = metrics_api.get(
        "query_range", {"query": "hourly_sessions_total_v1", "start": T - 2 * HOUR, "end": T, "step": "3600"}
    )
    body = response.json()
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert body["status"] == "success" and body["data"]["resultType"] == "matrix"
    result = body["data"]["result"]
    assert [s["metric"]["app_version"] for s in result] == ["1.0.0", "1.1.0", "2.0.0"]
    for item in result:
        assert item["metric"]["__name__"] == "hourly_sessions_total_v1"
        assert item["metric"]["app_id"] == "appID1"
        assert [ts for ts, _ in item["values"]] == [T - 2 * HOUR, T - HOUR, T]
        assert all(isinstance(v, str) and float(v) >= 0 for _, v in item["values"])


def test_instant_query_answers_a_vector_and_a_range_selector_a_matrix_of_raw_points(metrics_api):
    """query: a selector gives a vector of [time, "value"]; metric[3h] gives the points inside the window."""
    vector = metrics_api.data("query", {"query": CRASHES, "time": T + 60})
    assert vector["resultType"] == "vector" and len(vector["result"]) == 9
    assert all(item["value"][0] == T + 60 for item in vector["result"])
    raw = metrics_api.data("query", {"query": "hourly_sessions_total_v1[3h]", "time": T})
    assert raw["resultType"] == "matrix"
    assert [ts for ts, _ in raw["result"][0]["values"]] == [T - 2 * HOUR, T - HOUR, T]
    by_version = series(metrics_api, "hourly_sessions_total_v1", T - 2 * HOUR, T)
    for item in raw["result"]:
        assert {ts: float(v) for ts, v in item["values"]} == by_version[frozenset(item["metric"].items())]


def test_an_instant_query_without_a_time_answers_for_now(metrics_api):
    """time is optional (empty counts as absent, as in Prometheus): the answer is stamped with now."""
    for params in ({"query": CRASHES}, {"query": CRASHES, "time": ""}):
        before = time.time()
        vector = metrics_api.data("query", params)
        assert len(vector["result"]) == 9
        assert all(before - 1 <= item["value"][0] <= time.time() + 1 for item in vector["result"])


def test_an_instant_query_for_now_still_sees_the_last_point_while_the_next_is_not_readable(
    metrics_api, monkeypatch
):
    """Five minutes past the hour the newest hourly point (an hour and five minutes old) is still the
    current value: asking for "now" never falls into the gap before the next point is readable."""
    now = math.floor(time.time() / HOUR) * HOUR + 5 * 60
    monkeypatch.setattr(answers, "time", SimpleNamespace(time=lambda: now))
    vector = metrics_api.data("query", {"query": CRASHES})
    assert len(vector["result"]) == 9
    assert {item["value"][0] for item in vector["result"]} == {now}


def test_post_form_queries_answer_like_get(metrics_api):
    """Prometheus clients may POST the parameters form-encoded; the answer is the same as a GET's."""
    params = {"query": f"sum({CRASHES})", "start": T - HOUR, "end": T, "step": "1h"}
    posted = metrics_api.http.post(
        f"{metrics_api.base}/api/v1/query_range", data=params, headers=metrics_api.auth(), timeout=10
    )
    assert posted.status_code == 200
    assert posted.json() == metrics_api.get("query_range", params).json()


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ('{app_version="1.1.0"}', lambda m: m["app_version"] == "1.1.0"),
        ('{app_version!="1.1.0"}', lambda m: m["app_version"] != "1.1.0"),
        ('{os_major_version=~"1[56]"}', lambda m: m["os_major_version"] in ("15", "16")),
        ('{os_major_version!~"1[56]"}', lambda m: m["os_major_version"] == "17"),
        (
            '{app_version=~"1\\\\..*", os_major_version="17"}',
            lambda m: m["app_version"] < "2" and m["os_major_version"] == "17",
        ),
    ],
)
def test_each_matcher_selects_the_series_it_describes(metrics_api, selector, expected):
    """=, !=, =~ (anchored, as in Prometheus) and !~ keep exactly the matching series."""
    everything = series(metrics_api, CRASHES)
    chosen = series(metrics_api, CRASHES + selector)
    assert chosen
    assert chosen == {labels: v for labels, v in everything.items() if expected(dict(labels))}


def test_name_matchers_select_metrics_by_name(metrics_api):
    """__name__ works as any label: =~ picks several metrics, and = is the same as the bare name."""
    names = {dict(k)["__name__"] for k in series(metrics_api, '{__name__=~"hourly_(sessions|crash).*"}')}
    assert names == {"hourly_sessions_total_v1", CRASHES}
    assert series(metrics_api, f'{{__name__="{CRASHES}"}}') == series(metrics_api, CRASHES)


def test_a_backtracking_regex_is_answered_like_any_other(api, metrics_api):
    """Label regexes run in linear time (RE2, as in Prometheus): a pattern that makes a backtracking
    engine try every split of a long name still gets its (empty) answer instead of hanging a worker."""
    body = {"name": "x" * 40, "metric": "sessions_total", "data_destination": ["metrics_api"]}
    assert api.post(body).status_code == 200
    CustomMetric.objects.filter(name="x" * 40).update(created_at=timezone.now() - timedelta(days=3))
    data = metrics_api.data("query", {"query": '{__name__=~"hourly_(x+x+)+y"}', "time": T})
    assert data["result"] == []
    found = metrics_api.data("query", {"query": '{__name__=~"hourly_(x+x+)+"}', "time": T})
    assert [item["metric"]["__name__"] for item in found["result"]] == ["hourly_" + "x" * 40]


def _aggregate(op: str, values: list[float]) -> float:
    return {
        "sum": sum,
        "avg": lambda v: sum(v) / len(v),
        "max": max,
        "min": min,
        "count": len,
    }[op](values)


@pytest.mark.parametrize("op", ["sum", "avg", "max", "min", "count"])
@pytest.mark.parametrize(
    ("grouping", "key"),
    [
        ("", lambda m: ()),
        ("by (app_version)", lambda m: (("app_version", m["app_version"]),)),
        (
            "without (app_version)",
            lambda m: tuple(sorted((k, v) for k, v in m.items() if k not in ("app_version", "__name__"))),
        ),
    ],
)
def test_each_aggregation_combines_the_series_of_each_group(metrics_api, op, grouping, key):
    """sum/avg/max/min/count, alone, by (…) and without (…), equal the same sums done by hand."""
    raw = series(metrics_api, CRASHES)
    groups = defaultdict(lambda: defaultdict(list))
    for labels, points in raw.items():
        for ts, value in points.items():
            groups[key(dict(labels))][ts].append(value)
    expected = {
        frozenset(group): {ts: _aggregate(op, values) for ts, values in points.items()}
        for group, points in groups.items()
    }
    got = series(metrics_api, f"{op} {grouping} ({CRASHES})")
    assert got.keys() == expected.keys()
    for labels, points in expected.items():
        assert got[labels] == pytest.approx(points)


@pytest.mark.parametrize("grouping", ["", "by (os_major_version)"])
def test_topk_keeps_the_k_largest_series_at_each_step(metrics_api, grouping):
    """topk(2, …) keeps, per step (and per group), the two largest series with all their labels."""
    raw = series(metrics_api, CRASHES)
    got = series(metrics_api, f"topk {grouping} (2, {CRASHES})")
    for ts in range(T - 5 * HOUR, T + 1, HOUR):
        groups = defaultdict(list)
        for labels, points in raw.items():
            groups[dict(labels)["os_major_version"] if grouping else ""].append((points[ts], labels))
        expected = {labels for members in groups.values() for _, labels in sorted(members, reverse=True)[:2]}
        assert {labels for labels, points in got.items() if ts in points} == expected


def test_sum_over_time_adds_the_points_inside_the_window(metrics_api):
    """sum_over_time(m[3h]) at t is the sum of the points in (t-3h, t], and loses the metric name."""
    raw = series(metrics_api, "hourly_sessions_total_v1", T - 8 * HOUR, T)
    got = series(metrics_api, "sum_over_time(hourly_sessions_total_v1[3h])")
    assert len(got) == 3
    for labels, points in raw.items():
        unnamed = frozenset((k, v) for k, v in labels if k != "__name__")
        for ts in range(T - 5 * HOUR, T + 1, HOUR):
            assert got[unnamed][ts] == sum(points[ts - i * HOUR] for i in range(3))


def _prometheus_increase(points: list[tuple[int, float]], t: float, window: float) -> float:
    """Prometheus's extrapolatedRate for increase(), written out from its source as a reference."""
    (first_ts, first), (last_ts, last) = points[0], points[-1]
    raw = last - first + sum(prev for (_, prev), (_, cur) in itertools.pairwise(points) if cur < prev)
    sampled = last_ts - first_ts
    average = sampled / (len(points) - 1)
    to_start, to_end = first_ts - (t - window), t - last_ts
    if raw > 0 and first >= 0:
        to_start = min(to_start, sampled * first / raw)
    threshold = average * 1.1
    interval = sampled + (to_start if to_start < threshold else average / 2)
    interval += to_end if to_end < threshold else average / 2
    return raw * interval / sampled


@pytest.mark.parametrize("offset", [0, 1800])
def test_increase_extrapolates_like_prometheus(metrics_api, offset):
    """increase(m[3h]) follows Prometheus: the rise between the window's points (resets counted) stretched
    to the window, on and between the points."""
    raw = series(metrics_api, "hourly_sessions_total_v1", T - 8 * HOUR, T)
    got = series(metrics_api, "increase(hourly_sessions_total_v1[3h])", T - 3 * HOUR + offset, T)
    for labels, points in raw.items():
        unnamed = frozenset((k, v) for k, v in labels if k != "__name__")
        for t in got[unnamed]:
            inside = sorted((ts, v) for ts, v in points.items() if t - 3 * HOUR < ts <= t)
            assert got[unnamed][t] == pytest.approx(_prometheus_increase(inside, t, 3 * HOUR))


def test_steps_under_an_hour_are_rounded_up_to_an_hour(metrics_api):
    """As Embrace does, step=60 (or 5m) answers one point per hour, not one per minute."""
    for step in ("60", "5m"):
        points = series(metrics_api, "five_minute_anrs_north_america", T - 3 * HOUR, T, step)
        assert all(sorted(p) == [T - 3 * HOUR, T - 2 * HOUR, T - HOUR, T] for p in points.values())


def test_more_than_11000_points_is_refused_with_prometheus_words(metrics_api):
    """A range over 11,000 steps is 400 bad_data with Prometheus's own text; exactly 11,000 is answered."""
    params = {"query": CRASHES, "start": T - 11_001 * HOUR, "end": T, "step": "1h"}
    message = error(metrics_api.get("query_range", params), 400, "bad_data")
    assert message == (
        "exceeded maximum resolution of 11,000 points per timeseries. "
        "Try decreasing the query resolution (?step=XX)"
    )
    assert metrics_api.get("query_range", {**params, "start": T - 11_000 * HOUR}).status_code == 200


def test_the_same_query_always_returns_the_same_numbers(metrics_api):
    """Values depend only on the app, name, labels and time: asking again, or after the metric is deleted
    and seeded again, gives the same numbers; different series differ."""
    first = series(metrics_api, CRASHES)
    assert series(metrics_api, CRASHES) == first
    assert len({tuple(p.values()) for p in first.values()}) == len(first)
    CustomMetric.objects.filter(name="crash_count_by_version").delete()
    assert series(metrics_api, CRASHES) == {}
    call_command("sandbox_seed", stdout=StringIO())
    assert series(metrics_api, CRASHES) == first


def test_data_begins_when_the_metric_was_created_and_names_appear_with_data(api, metrics_api):
    """A new metric's name is not listed before its first point is readable; once it has history, its
    points start at the first whole window after its creation and never before."""
    body = {
        "name": "fresh_metric",
        "metric": "sessions_total",
        "filters": {},
        "group_by": [],
        "time_granularity": ["hourly"],
        "data_destination": ["metrics_api"],
    }
    assert api.post(body).status_code == 200
    assert "hourly_fresh_metric" not in metrics_api.data("label/__name__/values")
    created = T - 5 * HOUR - 600  # ten minutes before an hour
    CustomMetric.objects.filter(name="fresh_metric").update(
        created_at=timezone.datetime.fromtimestamp(created, tz=timezone.UTC)
    )
    assert "hourly_fresh_metric" in metrics_api.data("label/__name__/values")
    points = series(metrics_api, "hourly_fresh_metric", T - 10 * HOUR, T)
    # The first whole window after creation starts 5 h ago; its point is stamped at its end.
    assert sorted(next(iter(points.values()))) == [T - i * HOUR for i in range(4, -1, -1)]


def test_only_metrics_sent_to_the_metrics_api_have_series(api, metrics_api):
    """A custom metric whose data destinations leave out metrics_api (say, Datadog only) never appears."""
    body = {
        "name": "datadog_only",
        "metric": "sessions_total",
        "time_granularity": ["hourly"],
        "data_destination": ["datadog"],
    }
    assert api.post(body).status_code == 200
    CustomMetric.objects.filter(name="datadog_only").update(created_at=timezone.now() - timedelta(days=3))
    assert "hourly_datadog_only" not in metrics_api.data("label/__name__/values")
    assert metrics_api.data("query", {"query": "hourly_datadog_only", "time": T})["result"] == []


@pytest.mark.parametrize(
    ("name", "step", "delay"),
    [
        ("five_minute_sessions_total_v1", 300, 300),
        ("hourly_sessions_total_v1", 3600, 900),
        ("daily_paid_user_adoption", 86400, 14 * 3600),
    ],
)
def test_the_newest_point_is_readable_only_after_the_availability_delay(metrics_api, name, step, delay):
    """A point (stamped at its window's end) appears 5 min (five_minute), 15 min (hourly) or 14 h (daily)
    after its window closes: asking for now returns nothing newer."""
    now = time.time()
    raw = metrics_api.data("query", {"query": f"{name}[3d]", "time": now + 86400})
    newest = max(ts for item in raw["result"] for ts, _ in item["values"])
    assert (
        newest == math.floor((now - delay) / step) * step
        or newest == math.floor((time.time() - delay) / step) * step
    )


def test_label_endpoints_list_names_and_values_of_readable_series(metrics_api):
    """labels and label/<name>/values list what the series carry; match[] narrows them."""
    names = metrics_api.data("label/__name__/values")
    assert "hourly_sessions_total_v1" in names and "five_minute_sessions_total_v1" in names
    assert names == sorted(names)
    assert {"__name__", "app_id", "app_version", "country", "plan"} <= set(metrics_api.data("labels"))
    assert metrics_api.data("label/app_id/values") == ["appID1"]
    assert metrics_api.data("label/os_version/values") == ["15", "16", "17"]
    assert metrics_api.data("label/plan/values") == ["enterprise", "free", "pro"]
    narrowed = metrics_api.data("labels", {"match[]": "hourly_sessions_total_v1"})
    assert narrowed == ["__name__", "app_id", "app_version"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("rate(hourly_sessions_total_v1[1h])", "rate()"),
        ("hourly_sessions_total_v1 + 1", "binary operator"),
        ("quantile(0.9, hourly_sessions_total_v1)", "quantile"),
        ("hourly_sessions_total_v1 offset 1h", "offset"),
        ("sum_over_time(hourly_sessions_total_v1[1h:5m])", "subquery"),
        ("42", "literal"),
    ],
)
def test_unsupported_promql_is_bad_data_naming_what_is_not_supported(metrics_api, query, named):
    """Valid PromQL beyond the subset is 400 bad_data saying what isn't supported and what is."""
    message = error(metrics_api.get("query", {"query": query, "time": T}), 400, "bad_data")
    assert named in message and "not supported" in message and "sum_over_time" in message


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"query": "sum(hourly_sessions_total_v1"}, 'invalid parameter "query": parse error: unclosed left'),
        (
            {"query": "x", "start": "yesterday"},
            'invalid parameter "start": cannot parse "yesterday" to a valid',
        ),
        ({"query": "x", "end": str(T - 7200)}, 'invalid parameter "end": end timestamp must not be before'),
        ({"query": "x", "step": "0"}, "zero or negative query resolution step widths are not accepted"),
        ({"query": "x", "step": "soon"}, 'invalid parameter "step": cannot parse "soon" to a valid duration'),
    ],
)
def test_bad_parameters_are_bad_data_in_prometheus_words(metrics_api, params, text):
    """Malformed queries, times and steps are 400 bad_data with Prometheus's messages."""
    full = {"start": T - 3600, "end": T, "step": "1h", **params}
    assert text in error(metrics_api.get("query_range", full), 400, "bad_data")


def test_rfc3339_times_are_accepted(metrics_api):
    """start/end may be RFC 3339 as well as unix seconds."""
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T))
    earlier = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T - 5 * HOUR))
    assert series(metrics_api, CRASHES, earlier, iso) == series(metrics_api, CRASHES)


def test_series_that_collide_once_unnamed_are_an_execution_error(metrics_api):
    """sum_over_time over two granularities of one metric gives twin label sets once the names are
    dropped: 422 execution, as in Prometheus."""
    query = 'sum_over_time({__name__=~".*_sessions_total_v1"}[1h])'
    response = metrics_api.get("query", {"query": query, "time": T})
    assert error(response, 422, "execution") == "vector cannot contain metrics with the same labelset"


def test_other_methods_and_paths_answer_prometheus_envelopes(metrics_api):
    """PUT is 405 with Allow; an unknown endpoint under /metrics/api/ is 404 not_found."""
    put = metrics_api.http.put(f"{metrics_api.base}/api/v1/query", headers=metrics_api.auth(), timeout=10)
    error(put, 405, "bad_data")
    assert put.headers["Allow"] == "GET, POST"
    error(metrics_api.get("series"), 404, "not_found")


def test_a_metrics_api_token_is_needed_and_opens_only_its_organization(metrics_api, api):
    """No token or an unknown one: 401; a Custom Metrics token: 403 naming the right kind; a Metrics API
    token does not open the Custom Metrics API; another organization's token sees none of the demo's
    series."""
    params = {"query": CRASHES, "time": T}
    assert "missing" in error(metrics_api.get("query", params, headers={}), 401, "unauthorized")
    unknown = metrics_api.get("query", params, headers=metrics_api.auth("0" * 32))
    assert error(unknown, 401, "unauthorized") and unknown.headers["WWW-Authenticate"].startswith("Bearer")
    wrong_kind = metrics_api.get("query", params, headers=metrics_api.auth(api.token))
    assert "Metrics API token" in error(wrong_kind, 403, "forbidden")
    assert api.get(headers=api.auth(metrics_api.token)).status_code == 403
    other, raw = Token.mint(Organization.objects.get(name="Other organization"), kind=TokenKind.METRICS_API)
    assert metrics_api.data("label/__name__/values") != []
    response = metrics_api.get("label/__name__/values", headers=metrics_api.auth(raw))
    assert response.status_code == 200 and response.json()["data"] == []
    other.revoke()
    error(metrics_api.get("labels", headers=metrics_api.auth(raw)), 401, "unauthorized")


def test_a_month_of_history_is_seeded(metrics_api):
    """The seeded examples were created 30 days ago, so a daily chart of the four weeks up to two days
    ago (daily points are readable 14 h after the day ends) has a point every day."""
    points = series(metrics_api, "sum(daily_paid_user_adoption)", T - 26 * 86400, T, "1d")
    (values,) = points.values()
    assert len(values) == 27
    assert timedelta(days=29) < timezone.now() - CustomMetric.objects.earliest("created_at").created_at


def test_sandbox_token_mints_each_kind_for_its_own_api(metrics_api, api):
    """sandbox_token mint --kind metrics-api prints a token that reads the Metrics API and not the Custom
    Metrics API; the default kind is the other way round; list says which kind each token is."""
    minted = {}
    for kind in ("metrics-api", "custom-metrics"):
        out = StringIO()
        call_command("sandbox_token", "mint", "--org", "Demo organization", "--kind", kind, stdout=out)
        minted[kind] = out.getvalue().strip().splitlines()[-1]
    assert metrics_api.get("labels", headers=metrics_api.auth(minted["metrics-api"])).status_code == 200
    assert api.get(headers=api.auth(minted["metrics-api"])).status_code == 403
    assert metrics_api.get("labels", headers=metrics_api.auth(minted["custom-metrics"])).status_code == 403
    assert api.get(headers=api.auth(minted["custom-metrics"])).status_code == 200
    listing = StringIO()
    call_command("sandbox_token", "list", stdout=listing)
    line = next(x for x in listing.getvalue().splitlines() if minted["metrics-api"][-4:] in x)
    assert "Metrics API" in line and "Custom" not in line


def test_seed_summary_prints_a_metrics_api_curl_that_works(metrics_api):
    """The plain seed output shows the demo Metrics API token and a curl listing the series names."""
    out = StringIO()
    call_command("sandbox_seed", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(metrics_api.token in line for line in lines if "Metrics API token" in line)
    url = next(
        w for line in lines for w in line.split() if w.endswith("/metrics/api/v1/label/__name__/values")
    )
    path = url.split("/metrics", 1)[1]
    assert "hourly_sessions_total_v1" in metrics_api.data(path.removeprefix("/api/v1/"))


def test_the_console_serves_the_metrics_api_beside_its_own_prometheus_metrics(metrics_api, settings):
    """In the console's own URLconf the Metrics API answers at /metrics/api/v1/ (anonymous: its own 401
    envelope, no sign-in page, no cookie), while /metrics stays the console's Prometheus exposition."""
    settings.ROOT_URLCONF = "dashboard.urls"
    anonymous = requests.get(f"{metrics_api.base}/api/v1/labels", allow_redirects=False, timeout=10)
    assert error(anonymous, 401, "unauthorized") and "sessionid" not in anonymous.cookies
    assert not anonymous.headers.get("Set-Cookie")
    assert "hourly_sessions_total_v1" in metrics_api.data("label/__name__/values")
    console = requests.get(metrics_api.base, allow_redirects=False, timeout=10)
    assert "status" not in console.text[:40]
