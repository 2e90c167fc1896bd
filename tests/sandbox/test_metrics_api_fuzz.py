"""Hypothesis-generated PromQL and parameters never make the Metrics API answer 5xx: every answer,
over real HTTP, is a Prometheus envelope with a status Prometheus would use."""

import math
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOW = math.floor(time.time())
NAMES = [
    "hourly_sessions_total_v1",
    "five_minute_anrs_north_america",
    "daily_paid_user_adoption",
    "hourly_crash_count_by_version",
    "nope_total",
]
LABELS = ["app_id", "app_version", "os_version", "country", "plan", "__name__", "missing"]
VALUES = ["appID1", "1.0.0", "15", "US", "pro", ".*", "1[56]", "(", "a|b", "", "x\\\\y", "é"]
AGGREGATIONS = ["sum", "avg", "max", "min", "count", "topk", "quantile", "stddev", "bottomk"]
FUNCTIONS = ["sum_over_time", "increase", "rate", "avg_over_time", "abs"]

matchers = st.builds(
    lambda name, op, value: f'{name}{op}"{value}"',
    st.sampled_from(LABELS),
    st.sampled_from(["=", "!=", "=~", "!~"]),
    st.sampled_from(VALUES) | st.text(max_size=6),
)
selectors = st.builds(
    lambda name, ms: f"{name}{{{', '.join(ms)}}}" if ms or not name else name,
    st.sampled_from([*NAMES, ""]),
    st.lists(matchers, max_size=3),
)
ranges = st.sampled_from(["1h", "5m", "3h", "1d", "30s", "2w", "0s"])


def _aggregation(op: str, group: str, labels: list[str], expr: str) -> str:
    param = "2, " if op in ("topk", "bottomk", "quantile") else ""
    return f"{op} {group} ({', '.join(labels)}) ({param}{expr})" if group else f"{op}({param}{expr})"


def _wrap(inner: st.SearchStrategy) -> st.SearchStrategy:
    aggregated = st.builds(
        _aggregation,
        st.sampled_from(AGGREGATIONS),
        st.sampled_from(["", "by", "without"]),
        st.lists(st.sampled_from(LABELS), max_size=2),
        inner,
    )
    over_time = st.builds(lambda f, s, r: f"{f}({s}[{r}])", st.sampled_from(FUNCTIONS), selectors, ranges)
    binary = st.builds(lambda a, b: f"{a} + {b}", inner, inner)
    return aggregated | over_time | binary | st.builds(lambda e: f"({e})", inner)


queries = st.recursive(selectors, _wrap, max_leaves=4) | st.text(max_size=30)
times = st.one_of(
    st.integers(NOW - 40 * 86400, NOW + 86400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["2026-01-01T00:00:00Z", "yesterday", "", "1e300", "-1"]),
)
steps = st.sampled_from(["1h", "60", "5m", "1d", "0", "-5", "abc", "1e20", "0.001", "NaN"])


def _assert_envelope(response) -> None:
    assert response.status_code in (200, 400, 422), response.text
    body = response.json()
    if response.status_code == 200:
        assert body["status"] == "success"
        assert body["data"]["resultType"] in ("matrix", "vector")
        for item in body["data"]["result"]:
            pairs = item["values"] if "values" in item else [item["value"]]
            assert all(isinstance(ts, int | float) and isinstance(v, str) for ts, v in pairs)
    else:
        assert body["status"] == "error" and body["errorType"] in ("bad_data", "execution")
        assert body["error"]


@FUZZ
@given(query=queries, start=times, span=st.integers(0, 40 * 86400), step=steps)
def test_range_queries_always_answer_a_prometheus_envelope(metrics_api, query, start, span, step):
    """Any query_range: 200 with a matrix, or 400 bad_data / 422 execution with a message; never 5xx."""
    try:
        end = str(float(start) + span)
    except ValueError:
        end = str(NOW)
    params = {"query": query, "start": start, "end": end, "step": step}
    _assert_envelope(metrics_api.get("query_range", params))


@FUZZ
@given(query=queries, at=times)
def test_instant_queries_always_answer_a_prometheus_envelope(metrics_api, query, at):
    """Any instant query: 200 with a vector or matrix, or a Prometheus error envelope; never 5xx."""
    _assert_envelope(metrics_api.get("query", {"query": query, "time": at}))


@FUZZ
@given(
    endpoint=st.sampled_from(["labels", "label/__name__/values", "label/app_id/values", "label/9bad/values"]),
    match=st.lists(queries, max_size=2),
)
def test_label_endpoints_always_answer_a_prometheus_envelope(metrics_api, endpoint, match):
    """labels and label/<name>/values with any match[]: a sorted list of strings, or bad_data; never 5xx."""
    response = metrics_api.get(endpoint, {"match[]": match})
    assert response.status_code in (200, 400), response.text
    body = response.json()
    if response.status_code == 200:
        assert body["status"] == "success" and body["data"] == sorted(body["data"])
        assert all(isinstance(name, str) for name in body["data"])
    else:
        assert body["status"] == "error" and body["errorType"] == "bad_data" and body["error"]
