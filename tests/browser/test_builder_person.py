"""In a real browser, the builder as a person who isn't an engineer meets it: lists typed the way
people write them, a ten-condition filter that fits on a screen, and no error before one is earned;
with JavaScript on and, where stated, off."""

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.test_builder_browser import click, settle

pytestmark = pytest.mark.browser

URL = "/apps/appID1/metrics/new/"
TEN_CONDITIONS = {
    "op": "and",
    "children": [
        {"field_op": "eq", "key": "app_version", "val": "1.2"},
        {"field_op": "in", "key": "os_version", "val": ["12", "13", "14"]},
        {"field_op": "eq", "key": "country", "val": "US"},
        {
            "op": "or",
            "children": [
                {"field_op": "eq", "key": "model", "val": "Pixel 8"},
                {"field_op": "eq", "key": "model", "val": "Pixel 7"},
                {
                    "op": "and",
                    "children": [
                        {"field_op": "eq", "key": "has_anr", "val": True},
                        {"field_op": "eq", "key": "app_version", "val": "1.3"},
                    ],
                },
            ],
        },
        {"field_op": "eq", "key": "os_version", "val": "15"},
        {"field_op": "gte", "key": "os_major_version", "val": 12},
        {"field_op": "neq", "key": "model", "val": "Pixel 6"},
    ],
}


def choose_network_requests(page, *, javascript: bool) -> None:
    page.get_by_label("Base metric: what to count").select_option("network_requests_total")
    if not javascript:
        click(page, "Show its choices")
    expect(page.locator("#metric-note")).to_contain_text("network requests")


def type_methods(page, typed: str, *, javascript: bool) -> None:
    """A condition "method is one of …" with the list typed on one line."""
    click(page, "Add a condition to the whole filter")
    page.get_by_label("Condition 1: filter on").select_option("method")
    if not javascript:
        click(page, "Update the filter")
    expect(page.get_by_label("Condition 1: comparison")).to_have_value("eq")
    page.get_by_label("Condition 1: comparison").select_option("in")
    if not javascript:
        click(page, "Update the filter")
    field = page.get_by_label("Condition 1: values, separated by commas or new lines")
    field.fill(typed)
    field.press("Tab")
    settle(page)
    if not javascript:
        click(page, "Update the filter")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_typing_get_comma_post_gives_two_values_and_the_sentence_quotes_them(
    javascript, signed_in_page, demo_user
):
    page = signed_in_page(javascript=javascript)
    page.goto(URL)
    choose_network_requests(page, javascript=javascript)
    type_methods(page, "GET, POST", javascript=javascript)
    expect(page.locator('[id="f-0.0-chips"] .chip')).to_have_text(["GET", "POST"])
    expect(page.locator("#filter-sentence")).to_contain_text("method is one of “GET” or “POST”")
    page.locator("#json-view summary").click()
    if not javascript:  # the open JSON view is drawn by the next round trip
        click(page, "Update the filter")
    expect(page.locator("#request-json")).to_contain_text("POST")
    body = json.loads(page.locator("#request-json").text_content())
    assert body["filters"]["children"][0]["val"] == ["GET", "POST"]


def test_a_value_with_a_comma_in_quotes_stays_one_value(signed_in_page, demo_user):
    page = signed_in_page()
    page.goto(URL)
    page.get_by_role("button", name="Add a condition to the whole filter").click()
    settle(page)
    page.get_by_label("Condition 1: filter on").select_option("country")
    page.get_by_label("Condition 1: comparison").select_option("in")
    settle(page)
    field = page.get_by_label("Condition 1: values, separated by commas or new lines")
    field.fill('US\n"Paris, TX", GB')
    field.press("Tab")
    settle(page)
    expect(page.locator('[id="f-0.0-chips"] .chip')).to_have_text(["US", "Paris, TX", "GB"])
    expect(page.locator("#filter-sentence")).to_contain_text("country is one of “US”, “Paris, TX” or “GB”")


def test_known_values_are_offered_for_http_methods_and_countries(signed_in_page, demo_user):
    page = signed_in_page()
    page.goto(URL)
    choose_network_requests(page, javascript=True)
    click(page, "Add a condition to the whole filter")
    page.get_by_label("Condition 1: filter on").select_option("method")
    expect(page.get_by_label("Condition 1: value", exact=True)).to_have_attribute("list", "known-method")
    offered = page.locator("#known-method option").evaluate_all("os => os.map(o => o.value)")
    assert offered[:3] == ["GET", "POST", "PUT"]
    click(page, "Add a condition to the whole filter")
    page.get_by_label("Condition 2: filter on").select_option("status_code")
    expect(page.get_by_label("Condition 2: from")).to_have_attribute("list", "known-status-start")
    labels = page.locator("#known-status-end option").evaluate_all("os => os.map(o => o.label)")
    assert "4xx: client error" in labels
    click(page, "Add a condition to the whole filter")
    page.get_by_label("Condition 3: filter on").select_option("country")
    expect(page.get_by_label("Condition 3: value", exact=True)).to_have_attribute("list", "known-country")
    assert page.locator('#known-country option[value="FR"]').get_attribute("label") == "France"


def fill_ten_conditions(page) -> None:
    page.locator("#json-view summary").click()
    settle(page)  # opening the JSON view refreshes it
    page.get_by_label("Paste a filter or a whole request body as JSON").fill(json.dumps(TEN_CONDITIONS))
    click(page, "Fill the form from this JSON")
    expect(page.locator('[id="f-0.3.2.1-value"]')).to_have_value("1.3")
    page.locator("#json-view summary").click()


def test_ten_conditions_fit_within_800_px_at_1280_by_900(signed_in_page, demo_user):
    page = signed_in_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(URL)
    fill_ten_conditions(page)
    tree = page.locator("#filter-tree .fgroup.level-1").bounding_box()
    assert tree["height"] <= 800, f"the ten-condition builder is {tree['height']:.0f} px tall"


def test_rows_wrap_without_horizontal_scroll_at_768_px(signed_in_page, demo_user):
    page = signed_in_page(bypass_csp=True)
    page.set_viewport_size({"width": 768, "height": 900})
    page.goto(URL)
    fill_ten_conditions(page)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} px wide in {widths[1]} px"
    assert axe_violations(page) == []


def no_error_shown(page) -> None:
    expect(page.locator(".field-error:visible")).to_have_count(0)
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    expect(page.locator(".lint")).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_no_error_before_one_is_earned(javascript, signed_in_page, demo_user):
    """Changing the base metric leaves the still-empty name alone; a group just added isn't scolded
    for holding one item, nor its blank condition for being blank."""
    page = signed_in_page(javascript=javascript)
    page.goto(URL)
    choose_network_requests(page, javascript=javascript)
    no_error_shown(page)
    expect(page.get_by_text("Give the metric a name.")).to_have_count(0)
    click(page, "Add a group to the whole filter")
    expect(page.get_by_label("Condition 1.1: filter on")).to_be_visible()
    no_error_shown(page)
    page.get_by_label("Condition 1.1: filter on").select_option("domain")
    if not javascript:
        click(page, "Update the filter")
    expect(page.get_by_label("Condition 1.1: comparison")).to_have_value("eq")
    no_error_shown(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_at_create_each_incomplete_condition_says_what_is_missing_and_gets_focus(
    javascript, signed_in_page, demo_user
):
    page = signed_in_page(javascript=javascript)
    page.goto(URL)
    page.get_by_label("Name", exact=True).fill("sessions_by_country")
    click(page, "Add a condition to the whole filter")
    click(page, "Add a condition to the whole filter")
    page.get_by_label("Condition 2: filter on").select_option("country")
    if not javascript:
        click(page, "Update the filter")
    settle(page)
    no_error_shown(page)
    page.get_by_role("button", name="Create metric").click()
    settle(page)
    expect(page.locator('[id="f-0.0-errors"]')).to_be_visible()
    expect(page.locator('[id="f-0.1-errors"]')).to_contain_text("country")
    expect(page.locator('[id="f-0.0-key"]')).to_be_focused()


def test_keyboard_focus_stays_on_the_node_acted_on(signed_in_page, demo_user):
    """Adding, cloning, moving and the all-of / any-of switch leave focus on the node acted on."""
    page = signed_in_page()
    page.goto(URL)
    click(page, "Add a condition to the whole filter")
    expect(page.locator('[id="f-0.0-key"]')).to_be_focused()
    page.keyboard.press("Tab")  # no mouse: the keyboard reaches the row's controls
    click(page, "Add a group to the whole filter")
    expect(page.locator('[id="f-0.1.0-key"]')).to_be_focused()
    click(page, "Switch group 2 to “any of”")
    expect(page.locator('[id="f-0.1-connector"]')).to_be_focused()
    expect(page.locator('[id="f-0.1-connector"]')).to_have_text("all of")
    click(page, "Clone condition 1")
    expect(page.locator('[id="f-0.1-clone"]')).to_be_focused()
    click(page, "Move group 3 up")
    expect(page.locator('[id="f-0.1-up"]')).to_be_focused()
    click(page, "Move group 2 up")  # now first: its own "up" is disabled, so "down" has focus
    expect(page.locator('[id="f-0.0-down"]')).to_be_focused()
