"""The list page's 7-day trend lines: drawn for the rows shown, from one Metrics API request per page view,
only for people with a Metrics API token; a failing Metrics API only leaves them out."""

import re
from urllib.parse import unquote

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


LIST = reverse("metric_list", args=["appID1"])
TRENDS = reverse("metric_trends", args=["appID1"])
HTMX = {"HTTP_HX_REQUEST": "true"}
SHOWN = {"sessions_total_v1", "paid_user_adoption", "crash_count_by_version", "anrs_north_america"}
SPARKLINE = r'<svg class="sparkline"[^>]*aria-label="Trend of (\w+) [^"]*"><polyline points="([^"]+)"'


def loader_series(html: str) -> str:
    """The series the page asks its trend lines for, from the element that loads them after the page."""
    match = re.search(r'id="trend-loader" hx-get="[^"?]+\?series=([^"]+)"', html)
    assert match, "the page has no trend-line loader"
    return unquote(match.group(1))


def test_the_page_names_its_rows_series_and_their_lines_come_after_it_in_one_request(
    signed_in_client, with_metrics_token
):
    """The list never waits for the Metrics API: the page asks for nothing, then one request draws every
    row's line (swapped into its row by id), and the same rows a moment later cost nothing."""
    before = range_queries()
    html = signed_in_client.get(LIST).content.decode()
    assert range_queries() == before
    assert '<th scope="col">Last 7 days</th>' in html
    series = loader_series(html)
    trends = signed_in_client.get(TRENDS, {"series": series}, **HTMX).content.decode()
    assert range_queries() - before == 1
    lines = dict(re.findall(SPARKLINE, trends))
    assert set(lines) >= SHOWN
    assert all(f'<span id="trend-{name}" hx-swap-oob="true">' in trends for name in lines)
    assert all(f'<span id="trend-{name}">' in html for name in SHOWN)  # where each line goes
    assert all(len(points.split()) == 42 for points in lines.values())
    signed_in_client.get(TRENDS, {"series": series}, **HTMX)
    assert range_queries() - before == 1  # the same rows a moment later: the lines are kept a few minutes


def test_without_javascript_the_link_draws_the_lines_in_the_page(signed_in_client, with_metrics_token):
    html = signed_in_client.get(LIST).content.decode()
    assert 'href="/apps/appID1/?trends=1">Show the 7-day trend lines</a>' in html
    before = range_queries()
    inline = signed_in_client.get(LIST, {"trends": "1"}).content.decode()
    assert range_queries() - before == 1
    assert {name for name, _ in re.findall(SPARKLINE, inline)} >= SHOWN
    assert 'id="trend-loader"' not in inline


def test_the_trend_lines_answer_only_for_real_series_names(signed_in_client, with_metrics_token):
    """Whatever a link puts in ``series``, only series names are asked for and repeated."""
    trends = signed_in_client.get(
        TRENDS, {"series": 'hourly_sessions_total_v1,<b>x</b>,hourly_a" onload="x'}, **HTMX
    ).content.decode()
    assert 'id="trend-sessions_total_v1"' in trends
    assert "<b>" not in trends and "onload" not in trends


def test_the_query_covers_the_page_with_one_name_regex_summed_by_name():
    query = sparklines.query("appID1", ["hourly_a", "daily_b"])
    assert query == 'sum by (__name__) ({__name__=~"hourly_a|daily_b", app_id="appID1"})'


def test_without_a_metrics_api_token_there_are_no_trend_lines_and_no_request(signed_in_client):
    before = range_queries()
    html = signed_in_client.get(LIST).content.decode()
    assert range_queries() == before
    assert "Last 7 days" not in html and "trend-loader" not in html


def test_a_failing_metrics_api_leaves_the_list_intact(signed_in_client, with_metrics_token, settings):
    settings.SANDBOX_METRICS_API_URL = "http://127.0.0.1:9/metrics"
    settings.UPSTREAM_READ_RETRIES = 0
    response = signed_in_client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200 and "sessions_total_v1" in html
    trends = signed_in_client.get(TRENDS, {"series": loader_series(html)}, **HTMX)
    assert trends.status_code == 200 and "Trend lines are not shown" in trends.content.decode()
    inline = signed_in_client.get(LIST, {"trends": "1"}).content.decode()
    assert "sessions_total_v1" in inline and "Trend lines are not shown" in inline
