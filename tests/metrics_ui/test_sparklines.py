"""The list page's 7-day trend lines: drawn for the rows shown, from one Metrics API request per page view,
only for people with a Metrics API token; a failing Metrics API only leaves them out."""

import re

import pytest
from django.urls import reverse

from metrics_ui import upstream
from metrics_ui.metrics import sparklines
from metrics_ui.models import ApiToken


@pytest.fixture
def with_metrics_token(demo_user, seed):
    token = ApiToken(user=demo_user, label="Charts", region="sandbox", kind=ApiToken.Kind.METRICS_API)
    token.set_token(seed["metrics_api_token"])
    token.save()


def range_queries() -> float:
    return sum(
        sample.value
        for metric in upstream.REQUESTS_TOTAL.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["endpoint"] == "/api/v1/query_range"
    )


def test_each_row_gets_a_trend_line_from_one_metrics_api_request(signed_in_client, with_metrics_token):
    before = range_queries()
    html = signed_in_client.get(reverse("metric_list", args=["appID1"])).content.decode()
    assert range_queries() - before == 1
    assert '<th scope="col">Last 7 days</th>' in html
    lines = re.findall(
        r'<svg class="sparkline"[^>]*aria-label="Trend of (\w+) [^"]*"><polyline points="([^"]+)"', html
    )
    names = {name for name, _ in lines}
    assert {
        "sessions_total_v1",
        "paid_user_adoption",
        "crash_count_by_version",
        "anrs_north_america",
    } <= names
    assert all(len(points.split()) == 42 for _, points in lines)
    signed_in_client.get(reverse("metric_list", args=["appID1"]), {"sort": "-name"})
    assert range_queries() - before == 1  # the same rows a moment later: the lines are kept a few minutes


def test_the_query_covers_the_page_with_one_name_regex_summed_by_name():
    query = sparklines.query("appID1", ["hourly_a", "daily_b"])
    assert query == 'sum by (__name__) ({__name__=~"hourly_a|daily_b", app_id="appID1"})'


def test_without_a_metrics_api_token_there_are_no_trend_lines_and_no_request(signed_in_client):
    before = range_queries()
    html = signed_in_client.get(reverse("metric_list", args=["appID1"])).content.decode()
    assert range_queries() == before
    assert "Last 7 days" not in html and "sparkline" not in html


def test_a_failing_metrics_api_leaves_the_list_intact(signed_in_client, with_metrics_token, settings):
    settings.SANDBOX_METRICS_API_URL = "http://127.0.0.1:9/metrics"
    settings.UPSTREAM_READ_RETRIES = 0
    response = signed_in_client.get(reverse("metric_list", args=["appID1"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "sessions_total_v1" in html and "Trend lines are not shown" in html
