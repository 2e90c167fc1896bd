"""In a real browser: a person builds "app version is 1.2 and (OS version is 12 or OS version is 13)"
by clicking, clones, moves, undoes, picks granularities, creates the metric and finds it in the list;
the same with JavaScript turned off; axe-core finds nothing serious in any builder state."""

import re

import pytest
from playwright.sync_api import expect

from sandbox.models import CustomMetric
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

NAME = "sessions_by_app_and_os"
SENTENCE = "app version is 1.2 and (OS version is 12 or OS version is 13)"
URL = "/apps/appID1/metrics/new/"


def settle(page) -> None:
    """Wait until no HTMX request is in flight (a person reads the result before the next click)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def click(page, name: str) -> None:
    page.get_by_role("button", name=name).click()
    settle(page)


def set_condition(page, number: str, key: str, value: str, javascript: bool = True) -> None:
    page.get_by_label(f"Condition {number}: filter on").select_option(key)
    if javascript:  # the key's operators arrive from the server before the person types the value
        expect(page.get_by_label(f"Condition {number}: comparison")).to_have_value("eq")
    field = page.get_by_label(f"Condition {number}: value", exact=True)
    field.fill(value)
    field.press("Tab")
    settle(page)
    if javascript:
        expect(page.get_by_label(f"Condition {number}: value", exact=True)).to_have_value(value)


def build(page, *, javascript: bool) -> None:
    """The clicks a person makes, each followed by what they see; without JavaScript each click
    loads the whole page again."""
    sentence = page.locator("#filter-sentence")
    page.get_by_label("Name", exact=True).fill(NAME)
    if javascript:
        expect(page.locator("#name-check")).to_have_text(f"{NAME} is free.")
    click(page, "Add a condition to the whole filter")
    set_condition(page, "1", "app_version", "1.2", javascript)
    if javascript:
        expect(sentence).to_contain_text("where app version is 1.2")
    click(page, "Add a group to the whole filter")
    expect(page.get_by_label("Condition 2.1: filter on")).to_be_visible()
    click(page, "Switch group 2 to “any of”")
    expect(page.locator("legend", has_text="Group 2")).to_contain_text("any of")
    set_condition(page, "2.1", "os_version", "12", javascript)
    click(page, "Clone condition 2.1")
    if not javascript:
        click(page, "Update the filter")
    expect(sentence).to_contain_text("(OS version is 12 or OS version is 12)")
    field = page.get_by_label("Condition 2.2: value", exact=True)
    field.fill("13")
    field.press("Tab")
    settle(page)
    if not javascript:
        click(page, "Update the filter")
    expect(sentence).to_contain_text(SENTENCE)
    click(page, "Move condition 2.2 up")
    expect(sentence).to_contain_text("(OS version is 13 or OS version is 12)")
    click(page, "Undo")
    expect(sentence).to_contain_text(SENTENCE)
    page.get_by_label("Daily").check()
    page.get_by_label("App version").check()


def test_build_a_nested_filter_by_clicking_and_create_the_metric(signed_in_page, demo_user):
    page = signed_in_page()
    page.goto(URL)
    build(page, javascript=True)
    page.get_by_role("button", name="Create metric").click()
    page.wait_for_url(re.compile(rf"/apps/appID1/metrics/{NAME}/$"))
    stored = CustomMetric.objects.get(app__app_id="appID1", name=NAME)
    assert sorted(stored.time_granularity) == ["daily", "hourly"]
    page.goto("/apps/appID1/")
    assert SENTENCE in page.locator("#metric-table").inner_text()
    assert page.csp_violations == []


def test_the_same_flow_works_with_javascript_turned_off(signed_in_page, demo_user):
    page = signed_in_page(javascript=False)
    page.goto(URL)
    build(page, javascript=False)
    page.get_by_role("button", name="Create metric").click()
    page.wait_for_url(re.compile(rf"/apps/appID1/metrics/{NAME}/$"))
    page.goto("/apps/appID1/")
    assert SENTENCE in page.locator("#metric-table").inner_text()


def test_no_serious_accessibility_violation_in_any_builder_state(signed_in_page, demo_user):
    page = signed_in_page(bypass_csp=True)
    page.goto(URL)
    found = {"empty": axe_violations(page)}
    click(page, "Add a condition to the whole filter")
    page.get_by_label("Condition 1: filter on").wait_for()
    found["one blank condition"] = axe_violations(page)
    click(page, "Add a group to the whole filter")
    page.get_by_label("Condition 1: filter on").select_option("has_anr")
    expect(page.get_by_label("Condition 1: comparison")).to_have_value("eq")
    page.get_by_label("Condition 1: yes or no").select_option("yes")
    settle(page)
    page.get_by_label("Condition 2.1: filter on").select_option("os_major_version")
    expect(page.get_by_label("Condition 2.1: comparison")).to_have_value("eq")
    page.get_by_role("button", name="Create metric").click()  # no name, no values: errors on each node
    page.locator(".field-error").first.wait_for()
    found["errors shown"] = axe_violations(page)
    page.locator("#json-view summary").click()
    expect(page.locator("#json-view input[name=json_open]")).to_have_value("1")
    settle(page)
    expect(page.locator("#json-view")).to_contain_text("once every condition is complete")
    field = page.get_by_label("Condition 2.1: value", exact=True)
    field.fill("14")
    field.press("Tab")
    expect(page.locator("#filter-sentence")).to_contain_text("OS major version is 14")
    expect(page.locator("#request-json")).to_contain_text('"key": "has_anr"')  # fetched fresh on opening
    found["JSON view open"] = axe_violations(page)
    page.get_by_label("Base metric: what to count").select_option("crashes_total")
    expect(page.locator("#filter-tree")).to_contain_text("these conditions were removed: “had an ANR”")
    expect(page.locator("#request-json")).not_to_contain_text("has_anr")
    found["base metric changed"] = axe_violations(page)
    assert found == {state: [] for state in found}


def test_removing_a_group_that_holds_conditions_asks_first(signed_in_page, demo_user):
    """The remove button asks in the browser (hx-confirm) and takes its target, swap and queue from
    the create form: the tree is swapped in place, nothing else."""
    page = signed_in_page()
    page.goto(URL)
    click(page, "Add a group to the whole filter")
    set_condition(page, "1.1", "os_version", "12")
    asked = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    click(page, "Remove group 1")
    assert asked == ["Remove group 1 and the 1 condition in it?"]
    expect(page.get_by_label("Condition 1.1: filter on")).to_be_visible()

    page.once("dialog", lambda dialog: answer(dialog, True))
    click(page, "Remove group 1")
    expect(page.get_by_label("Condition 1.1: filter on")).to_have_count(0)
    assert len(asked) == 2
    counts = page.evaluate(
        "() => ['main', '#create-form', '#filter-tree'].map(s => document.querySelectorAll(s).length)"
    )
    assert counts == [1, 1, 1]
    assert page.csp_violations == []
