"""In a real browser: open an app, search as you type, read a metric, delete it through the typed
confirmation (with and without JavaScript), copy its PromQL query; the list, detail and delete pages
pass axe-core."""

import re

import pytest

from sandbox.models import App, CustomMetric
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

NAME = "crash_count_by_version"


def exists(name: str) -> bool:
    return CustomMetric.objects.filter(app__app_id="appID1", name=name).exists()


def test_search_open_a_metric_and_delete_it_through_the_dialog(signed_in_page, demo_user, live_server):
    page = signed_in_page()
    page.get_by_role("link", name="appID1").click()
    page.get_by_role("heading", name="Custom metrics of appID1").wait_for()
    table = page.locator("#metric-table")
    assert table.get_by_role("link", name="sessions_total_v1").is_visible()

    page.get_by_label("Search by name or base metric").press_sequentially("crash", delay=30)
    page.wait_for_url(re.compile(r"\?q=crash"))  # the URL follows the search, so it can be shared
    table.get_by_role("link", name="sessions_total_v1").wait_for(state="detached")
    assert table.get_by_role("link", name=NAME).is_visible()
    assert page.get_by_label("Search by name or base metric").input_value() == "crash"  # focus and text kept

    table.get_by_role("link", name=NAME).click()
    page.get_by_role("heading", name=NAME).wait_for()
    definition = page.locator("[aria-labelledby=definition-heading] .definition")
    assert "message contains OutOfMemory" in definition.inner_text()

    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name=f"Delete “{NAME}”?")
    dialog.wait_for()
    field = dialog.get_by_label("Type crash_count_by_version to confirm")
    assert field.evaluate("el => el === document.activeElement")
    field.fill("crash_count")
    dialog.get_by_role("button", name="Delete this metric").click()
    dialog.get_by_text("That isn't the metric's name").wait_for()
    assert exists(NAME)

    dialog = page.get_by_role("dialog", name=f"Delete “{NAME}”?")
    dialog.get_by_label("Type crash_count_by_version to confirm").fill(NAME)
    dialog.get_by_role("button", name="Delete this metric").click()
    page.wait_for_url(f"{live_server.url}/apps/appID1/")
    page.get_by_text(f"Deleted “{NAME}” from appID1").wait_for()
    assert page.locator("#metric-table").get_by_role("link", name=NAME).count() == 0
    assert not exists(NAME)
    assert page.csp_violations == []


def test_cancelling_the_dialog_keeps_the_metric_and_returns_focus(signed_in_page, demo_user):
    page = signed_in_page()
    page.goto(f"/apps/appID1/metrics/{NAME}/")
    opener = page.get_by_role("button", name="Delete…")
    opener.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert opener.evaluate("el => el === document.activeElement")
    assert exists(NAME)


def test_delete_without_javascript(signed_in_page, live_server, demo_user):
    page = signed_in_page(javascript=False)

    page.goto("/apps/appID1/")
    page.get_by_label("Search by name or base metric").fill("crash")
    page.get_by_role("button", name="Search").click()  # the plain GET form
    page.wait_for_url(re.compile(r"\?q=crash"))
    page.get_by_role("link", name=NAME).click()
    page.get_by_role("button", name="Delete…").click()  # a link to the confirmation page
    page.get_by_role("heading", name=f"Delete “{NAME}”?").wait_for()
    page.get_by_label("Type crash_count_by_version to confirm").fill(NAME)
    page.get_by_role("button", name="Delete this metric").click()
    page.get_by_text(f"Deleted “{NAME}” from appID1").wait_for()
    assert page.url == f"{live_server.url}/apps/appID1/"
    assert page.get_by_role("link", name=NAME).count() == 0
    assert not exists(NAME)


def test_sorting_and_paging_with_the_keyboard_keeps_the_focus(signed_in_page, demo_user):
    app = App.objects.get(app_id="appID2")
    CustomMetric.objects.bulk_create(
        CustomMetric(app=app, name=f"bulk_{i:03d}", metric="sessions_total", time_granularity=["hourly"])
        for i in range(120)
    )
    page = signed_in_page()
    page.goto("/apps/appID2/")
    page.locator("#sort-name").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sort=-name"))
    page.locator("#metric-table th[aria-sort='descending']").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "sort-name"
    names = page.locator("#metric-table tbody th").all_inner_texts()
    assert names[0] == "bulk_119" and names == sorted(names, reverse=True)

    page.locator("#page-next").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sort=-name&page=2"))
    page.get_by_text("Page 2 of 3").wait_for()
    assert page.locator("#metric-table tbody th").first.inner_text() == "bulk_069"
    assert page.evaluate("() => document.activeElement.id") == "page-next"


def test_copy_the_promql_query(signed_in_page, demo_user):
    page = signed_in_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/apps/appID1/metrics/sessions_total_v1/")
    page.get_by_role("button", name="Copy query").click()
    page.get_by_role("button", name="Copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == 'sum by (app_version) (hourly_sessions_total_v1{app_id="appID1"})'


def test_list_detail_and_delete_pages_have_no_serious_accessibility_violations(signed_in_page, demo_user):
    page = signed_in_page(bypass_csp=True)
    for path in (
        "/apps/appID1/",
        "/apps/appID1/?q=zzz",
        "/apps/appID2/",
        f"/apps/appID1/metrics/{NAME}/",
        f"/apps/appID1/metrics/{NAME}/delete/",
        "/apps/appID1/metrics/never_existed/",
    ):
        page.goto(path)
        assert axe_violations(page) == [], path
    page.goto(f"/apps/appID1/metrics/{NAME}/")
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").wait_for()
    assert axe_violations(page) == [], "delete dialog"


def test_the_busy_indicator_shows_while_embrace_is_slow(signed_in_page, demo_user, fault_upstream, settings):
    page = signed_in_page()
    page.goto("/apps/appID1/")
    settings.SANDBOX_BASE_URL = fault_upstream.url  # from now on "Embrace" takes 1.5 s to answer
    fault_upstream.respond(200, {"results": []}, delay=1.5)
    busy = page.locator("#busy")
    assert busy.evaluate("el => getComputedStyle(el).opacity") == "0"
    page.get_by_label("Search by name or base metric").fill("slow")
    page.locator("#busy.htmx-request").wait_for(state="attached")
    page.wait_for_function("() => getComputedStyle(document.getElementById('busy')).opacity === '1'")
    assert busy.inner_text() == "Waiting for Embrace…"
    page.get_by_text("No custom metrics in appID1 yet").wait_for()  # Embrace's (empty) answer arrived
    page.locator("#busy.htmx-request").wait_for(state="detached")


def test_back_and_forward_after_a_search_show_whole_pages(signed_in_page, demo_user, live_server):
    """htmx keeps no snapshots: going back to a pushed URL asks the server again, as an htmx request that
    swaps the whole body; the page must come back whole, never the table inside a page."""
    page = signed_in_page()
    page.goto("/apps/appID1/")
    # The trend lines load after the page; their request is no page of its own and is never pushed.
    page.wait_for_function("() => !document.querySelector('#trend-loader[hx-get], .htmx-request')")
    assert page.url == f"{live_server.url}/apps/appID1/"
    table = page.locator("#metric-table")
    page.get_by_label("Search by name or base metric").press_sequentially("crash", delay=30)
    page.wait_for_url(re.compile(r"\?q=crash"))
    table.get_by_role("link", name="sessions_total_v1").wait_for(state="detached")

    with page.expect_request(lambda r: r.headers.get("hx-history-restore-request") == "true"):
        page.go_back()
    page.wait_for_url(f"{live_server.url}/apps/appID1/")
    table.get_by_role("link", name="sessions_total_v1").wait_for()
    page.go_forward()
    page.wait_for_url(re.compile(r"\?q=crash"))
    table.get_by_role("link", name="sessions_total_v1").wait_for(state="detached")
    assert table.get_by_role("link", name=NAME).is_visible()
    counts = page.evaluate(
        "() => ['header', 'main', 'search', '#metric-table', '#busy']"
        ".map(s => document.querySelectorAll(s).length)"
    )
    assert counts == [1, 1, 1, 1, 1]
    assert "appID1" in page.title()
    assert page.csp_violations == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"status": 500, "headers": {"X-Request-ID": "ref-500"}, "body": "<html>boom</html>"},
            "Reference: ref-500",
        ),
        ({"status": 403, "body": "<html>no</html>"}, "isn't allowed for your role"),
        (None, "The console didn't answer"),
    ],
    ids=["500", "403", "no-answer"],
)
def test_an_htmx_request_that_fails_leaves_the_page_and_says_so(signed_in_page, demo_user, answer, message):
    """An error answer is not swapped into the table (the console's htmx swaps no 4xx or 5xx); a flash
    says what happened instead."""
    page = signed_in_page()
    page.goto("/apps/appID1/")
    # The trend lines come after the page: wait for them before taking the table as it stands.
    page.wait_for_function("() => !document.querySelector('#trend-loader[hx-get], .htmx-request')")
    before = page.locator("#metric-table").inner_html()

    def reply(route):
        route.fulfill(**answer) if answer else route.abort("connectionreset")

    page.route(lambda url: "sort=" in url, reply)
    page.locator("#sort-name").click()
    alert = page.locator("#messages [role=alert]")
    alert.wait_for()
    assert message in alert.inner_text()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert page.locator("#metric-table").inner_html() == before
    assert "boom" not in page.content() and "<html>no" not in page.content()
