"""The metric chart in a real chromium: visible with JavaScript on (loaded by htmx under the strict CSP)
and off (the link renders it inline), scaled to the page, with a table view, and no serious axe findings."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DETAIL = "/apps/appID1/metrics/crash_count_by_version/"


def test_the_chart_loads_after_the_page_and_follows_the_range_buttons(signed_in_page, demo_user):
    page = signed_in_page()
    page.goto(DETAIL)
    chart = page.locator("#chart-area svg.chart-svg")
    chart.wait_for()
    assert chart.is_visible()
    assert page.locator("#chart-area polyline").count() == 9
    section = page.locator("#chart").bounding_box()
    assert chart.bounding_box()["width"] == pytest.approx(section["width"], abs=2)  # scales to the page
    page.get_by_label("Last 24 hours").check()
    expect(page.locator("#chart-title")).to_contain_text("last 24 hours")
    page.get_by_text("Show as table").click()
    assert page.locator(".chart-table table tbody tr").count() >= 22
    assert page.csp_violations == []


def test_the_list_shows_trend_lines(signed_in_page, demo_user):
    page = signed_in_page()
    page.goto("/apps/appID1/")
    page.locator("svg.sparkline").first.wait_for()  # drawn after the page, into its rows
    assert page.locator("svg.sparkline").count() >= 5
    assert page.locator("tbody tr").count() >= 5  # the rows are all still there
    assert page.csp_violations == []


def test_the_chart_shows_without_javascript(signed_in_page, demo_user):
    page = signed_in_page(javascript=False)
    page.goto(DETAIL)
    page.get_by_role("link", name="Show the chart").click()
    page.wait_for_url(re.compile(r"chart=1"))
    assert page.locator("#chart-area svg.chart-svg").is_visible()
    page.get_by_label("Last 30 days").check()
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url(re.compile(r"range=30d"))
    assert "last 30 days" in page.locator("#chart-title").text_content()


def test_axe_finds_nothing_serious_on_the_chart(signed_in_page, demo_user):
    page = signed_in_page(bypass_csp=True)  # for injecting axe-core only
    page.goto(DETAIL + "?chart=1&range=7d")
    page.get_by_text("Show as table").click()
    assert axe_violations(page) == []
