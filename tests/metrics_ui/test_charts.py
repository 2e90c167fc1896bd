"""A metric's chart on its page: each range over the live sandbox's Metrics API, the table view, the empty
state, the hint without a Metrics API token, and every upstream fault as a banner (never a 500)."""

import re
import time
from html import unescape

import pytest
from django.urls import reverse

from metrics_ui import upstream
from metrics_ui.metrics import chart
from metrics_ui.models import ApiToken

METRIC = "crash_count_by_version"  # hourly and daily, grouped by app version and OS major version: 9 series
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "div#chart-area"}


@pytest.fixture
def charts_client(signed_in_client, demo_user, seed):
    """The demo editor with the sandbox's Metrics API token too."""
    token = ApiToken(user=demo_user, label="Charts", region="sandbox", kind=ApiToken.Kind.METRICS_API)
    token.set_token(seed["metrics_api_token"])
    token.save()
    return signed_in_client


def page(client, name=METRIC, **params) -> str:
    response = client.get(reverse("metric_detail", args=["appID1", name]), {"chart": "1", **params})
    assert response.status_code == 200
    return response.content.decode()


def fragment(client, name=METRIC, **params):
    return client.get(reverse("metric_chart", args=["appID1", name]), params, **HX)


def table(html: str) -> tuple[list[str], list[list[str]]]:
    body = html.split('<details class="chart-table">', 1)[1].split("</table>", 1)[0]
    headers = [unescape(h) for h in re.findall(r'<th scope="col">(.*?)</th>', body)][1:]
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", body)]
    return headers, rows


@pytest.mark.parametrize(("range_key", "points"), [("24h", 24), ("7d", 168), ("30d", 720)])
def test_each_range_draws_one_line_per_series_with_the_ranges_hourly_points(charts_client, range_key, points):
    html = page(charts_client, range=range_key, granularity="hourly")
    polylines = re.findall(r'<polyline class="series-\d" points="([^"]+)"', html)
    assert len(polylines) == 9  # 3 app versions x 3 OS major versions
    drawn = len(polylines[0].split())
    assert points - 2 <= drawn <= points  # the newest hour is readable 15 minutes after it closes
    assert '<title id="chart-title">' in html and '<desc id="chart-desc">' in html
    assert 'viewBox="0 0 1000 360" width="100%"' in html


def test_the_daily_granularity_draws_one_point_per_day(charts_client):
    html = page(charts_client, range="30d", granularity="daily")
    polylines = re.findall(r'<polyline class="series-\d" points="([^"]+)"', html)
    assert polylines and 28 <= len(polylines[0].split()) <= 30


def test_the_table_shows_the_same_numbers_as_the_metrics_api_returns(charts_client, seed):
    html = page(charts_client, range="24h", granularity="hourly")
    headers, rows = table(html)
    choice = chart.Choice("24h", "hourly")
    start, end = chart.window(choice, time.time())
    api = upstream.MetricsApi(seed["metrics_api_token"], "sandbox")
    series = api.query_range(chart.query("appID1", METRIC, "hourly"), start, end, 3600)
    expected = {chart.series_name(s): [str(int(v)) for _, v in s.points] for s in series}
    assert sorted(headers) == sorted(expected)
    for column, header in enumerate(headers):
        assert [row[column] for row in rows] == expected[header]
    assert len(re.findall(r"<polyline ", html)) == len(headers)


def test_many_label_combinations_show_the_top_ten_and_everything_else(charts_client):
    # The seeded metrics have at most 9 label combinations, so 15 series are made up here.
    grouped = chart.grouped(
        tuple(upstream.Series((("k", str(i)),), ((0, float(i)), (3600, 1.0))) for i in range(15))
    )
    assert [name for name, _ in grouped][:2] == ["k 14", "k 13"]
    assert len(grouped) == 11 and grouped[-1][0] == "Everything else"
    assert grouped[-1][1] == {0: 0 + 1 + 2 + 3 + 4.0, 3600: 5.0}


def test_the_chart_loads_after_the_page_with_a_link_for_browsers_without_javascript(charts_client):
    response = charts_client.get(reverse("metric_detail", args=["appID1", METRIC]))
    html = response.content.decode()
    assert 'hx-trigger="load"' in html and "<polyline" not in html
    link = unescape(re.search(r'<a href="([^"]+)">Show the chart</a>', html).group(1))
    assert "chart=1" in link
    assert "<polyline" in charts_client.get(link).content.decode()
    loaded = fragment(charts_client, range="7d", granularity="hourly")
    assert loaded.status_code == 200 and "<polyline" in loaded.content.decode()


def test_a_new_metric_says_when_its_first_point_will_appear(charts_client, seed):
    body = {"name": "fresh_metric", "metric": "sessions_total", "data_destination": ["metrics_api"]}
    upstream.Client(seed["token"], "sandbox").create_metric("appID1", body)
    html = page(charts_client, name="fresh_metric")
    assert "No data yet: Embrace starts counting when a metric is created; the first hourly" in html
    assert "<svg" not in html.split('id="chart-area"')[1]


def test_without_a_metrics_api_token_the_page_says_how_to_add_one(signed_in_client):
    html = page(signed_in_client)
    area = html.split('id="chart-area"')[1]
    assert "add a <strong>Metrics API token</strong>" in area
    assert f'href="{reverse("token_list")}"' in area


def test_a_metric_not_sent_to_the_metrics_api_has_no_chart_and_says_why(charts_client, seed):
    body = {"name": "datadog_only", "metric": "sessions_total", "data_destination": ["datadog"]}
    upstream.Client(seed["token"], "sandbox").create_metric("appID1", body)
    html = page(charts_client, name="datadog_only")
    assert "Metrics API is not one of this metric's destinations" in html


def test_a_five_minute_metric_is_drawn_as_hourly_sums(charts_client):
    """anrs_north_america counts only every five minutes; the Metrics API answers at most hourly steps."""
    html = page(charts_client, name="anrs_north_america", range="24h")
    assert "every 5 minutes" in html.split('<title id="chart-title">')[1].split("</title>")[0]
    polylines = re.findall(r'<polyline class="series-\d" points="([^"]+)"', html)
    assert len(polylines) == 9 and 22 <= len(polylines[0].split()) <= 24
