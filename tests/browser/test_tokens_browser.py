"""In a real browser: the demo user replaces the wired-up sandbox token by hand, and sees only its
last four characters; the home and token pages pass axe-core."""

import pytest

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_demo_user_removes_and_adds_a_token_and_sees_only_its_last_four(signed_in_page, demo_user, seed):
    token = seed["token"]
    page = signed_in_page()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("link", name="Remove Sandbox (demo)").click()
    page.get_by_role("button", name="Remove token").click()
    page.get_by_text("Token “Sandbox (demo)” removed").wait_for()

    page.get_by_label("Label").fill("My sandbox token")
    page.get_by_label("Region").select_option("sandbox")
    page.get_by_label("Embrace API token").fill(token)
    page.get_by_label("App IDs").fill("appID1, appID2")
    page.get_by_role("button", name="Check with Embrace and save").click()
    page.get_by_text("Token “My sandbox token” saved").wait_for()

    row = page.get_by_role("row", name="My sandbox token")
    assert f"••••{token[-4:]}" in row.inner_text()
    assert "appID1, appID2" in row.inner_text()
    assert token not in page.content()
    assert page.get_by_label("Embrace API token").input_value() == ""

    page.get_by_role("link", name="Apps", exact=True).click()
    page.get_by_role("link", name="appID1").wait_for()
    assert token not in page.evaluate("() => JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    assert page.csp_violations == []


def test_home_and_token_pages_have_no_serious_accessibility_violations(signed_in_page, demo_user):
    page = signed_in_page(bypass_csp=True)
    token_id = demo_user.api_tokens.get(kind="custom_metrics").pk
    charts_id = demo_user.api_tokens.get(kind="metrics_api").pk  # the demo's Metrics API token
    paths = ("/", "/tokens/", f"/tokens/{token_id}/replace/", f"/tokens/{token_id}/delete/")
    for path in (*paths, f"/tokens/{charts_id}/replace/"):
        page.goto(path)
        assert axe_violations(page) == [], path


def test_a_refused_token_form_keeps_the_person_where_they_were(signed_in_page, demo_user):
    """The token forms are boosted; the answer replaces the page without scrolling to its top, so the
    person stays at the form and its message (htmx 4 scrolls boosted answers to the top unless told)."""
    page = signed_in_page()
    page.set_viewport_size({"width": 1280, "height": 500})
    page.goto("/tokens/")
    page.get_by_label("Label").fill("Too short")
    page.get_by_label("Region").select_option("sandbox")
    page.get_by_label("Embrace API token").fill("not-a-token")
    page.get_by_label("App IDs").fill("appID1")
    button = page.get_by_role("button", name="Check with Embrace and save")
    button.scroll_into_view_if_needed()
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 0
    with page.expect_request(lambda r: r.headers.get("hx-boosted") == "true"):
        button.click()
    page.locator(".flash-error[role=alert]").wait_for()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert page.evaluate("() => window.scrollY") > 0
    assert page.csp_violations == []
