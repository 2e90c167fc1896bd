"""The calls Embrace's Metrics API documentation makes with prometheus-api-client work against the
sandbox as written: PrometheusConnect with a bearer header, custom_query_range, get_metric_range_data,
all_metrics. (prometheus-api-client is a test-only dependency.)"""

import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

HOUR = 3600
T = datetime.fromtimestamp(math.floor(time.time() / HOUR) * HOUR - 2 * 86400, tz=UTC)


@pytest.fixture
def prom(metrics_api) -> PrometheusConnect:
    return PrometheusConnect(
        url=metrics_api.base, headers={"Authorization": f"Bearer {metrics_api.token}"}, disable_ssl=True
    )


def test_all_metrics_lists_the_custom_metrics_series_names(prom):
    """all_metrics() (label/__name__/values) names each custom metric per granularity."""
    names = prom.all_metrics()
    assert {"five_minute_sessions_total_v1", "hourly_sessions_total_v1", "daily_paid_user_adoption"} <= set(
        names
    )


def test_custom_query_range_returns_the_documented_sum_by_label(prom):
    """The documentation's pattern: custom_query_range over a sum by a group-by label, hourly steps."""
    result = prom.custom_query_range(
        query='sum by (app_version) (hourly_sessions_total_v1{app_id="appID1"})',
        start_time=T - timedelta(hours=6),
        end_time=T,
        step="1h",
    )
    assert sorted(s["metric"]["app_version"] for s in result) == ["1.0.0", "1.1.0", "2.0.0"]
    assert all(len(s["values"]) == 7 and float(s["values"][-1][1]) > 0 for s in result)


def test_get_metric_range_data_returns_raw_points_in_chunks(prom):
    """get_metric_range_data (instant queries of metric[chunk]) returns each hourly point once per chunk."""
    data = prom.get_metric_range_data(
        "hourly_sessions_total_v1",
        label_config={"app_version": "1.0.0"},
        start_time=T - timedelta(hours=6),
        end_time=T,
        chunk_size=timedelta(hours=3),
    )
    assert len(data) == 2
    stamps = [ts for chunk in data for ts, _ in chunk["values"]]
    expected = [int((T - timedelta(hours=h)).timestamp()) for h in range(5, -1, -1)]
    assert stamps == expected


def test_a_custom_metrics_token_makes_the_client_raise_with_the_403(metrics_api, seed):
    """With the Custom Metrics token the client raises, showing the status and the reason."""
    prom = PrometheusConnect(url=metrics_api.base, headers={"Authorization": f"Bearer {seed['token']}"})
    with pytest.raises(PrometheusApiClientException, match="403"):
        prom.custom_query_range("hourly_sessions_total_v1", T - timedelta(hours=1), T, "1h")
