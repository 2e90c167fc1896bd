"""Hostile content is inert, in a real browser under the console's strict CSP.

Metric names can't hold markup (the name rule), but filter values, group-by property keys, token labels
and the upstream's own error messages can. Each carries a script, an image with an ``onerror`` handler
and a ``<div hx-get="/logout" hx-trigger="load">`` that htmx would act on if it ever became an element.
On every page that shows them, the test asserts that no script ran (``window.__pwned`` stays undefined),
that no element gained markup or htmx behaviour the console didn't render, that no request went to the
sign-out URL, that the browser reported no CSP violation, and that the hostile text is shown as text.
"""

from __future__ import annotations

import pytest
import requests
from django.conf import settings

from metrics_ui.filter_tree import split_values
from metrics_ui.models import ApiToken, User
from sandbox.management.commands.sandbox_seed import DEMO_TOKEN
from tests.browser.conftest import demo_user, signed_in_page  # noqa: F401  (the browser's own fixtures)
from tests.faults import Respond

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMAGE = '<img src=x onerror="window.__pwned=1">'
HTMX = '<div hx-get="/logout" hx-trigger="load">x</div>'
PAYLOADS = (SCRIPT, IMAGE, HTMX)
NAME = "hostile_values"

# Everything an element could have gained from the payloads, as one selector.
INJECTED = ", ".join(
    ("script:not([src])", 'img[src="x"]', "[onerror]", '[hx-get="/logout"]', '[hx-trigger="load"]')
)


def inspect(page) -> dict:
    return page.evaluate(
        """(selector) => ({
            pwned: window.__pwned,
            injected: Array.from(document.querySelectorAll(selector)).map(e => e.outerHTML),
            htmx: Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes)
                .filter(a => a.name.startsWith('hx-') || a.name.startsWith('data-hx-'))
                .map(a => a.name + '=' + a.value)),
            text: document.body.innerText,
        })""",
        INJECTED,
    )


def assert_inert(page, requests_seen: list[str], *, shown: tuple[str, ...] = PAYLOADS) -> None:
    page.wait_for_load_state("networkidle")
    found = inspect(page)
    assert found["pwned"] is None, "a hostile script ran"
    assert found["injected"] == [], found["injected"]
    # The console's own htmx attributes never point at sign-out or trigger on load.
    assert not [a for a in found["htmx"] if "/logout" in a or a == "hx-trigger=load"], found["htmx"]
    assert not [url for url in requests_seen if "/logout" in url], "a request went to the sign-out URL"
    assert page.csp_violations == []
    for payload in shown:
        assert payload in found["text"], f"{payload} is not shown as text"


@pytest.fixture
def hostile_metric(live_server, demo_user):  # noqa: F811
    """A metric whose filter values and group-by key hold the payloads, created through the sandbox API."""
    body = {
        "name": NAME,
        "metric": "sessions_total",
        "group_by": ["app_version", f"session_property.{SCRIPT}"],
        "filters": {
            "op": "or",
            "children": [
                {"key": "app_version", "field_op": "eq", "val": SCRIPT},
                {"key": "os_version", "field_op": "in", "val": [IMAGE, HTMX]},
            ],
        },
        "time_granularity": ["hourly"],
        "data_destination": ["metrics_api"],
    }
    response = requests.post(
        f"{live_server.url}/custom-metrics/api/v1/app/appID1/custom-metrics",
        json=body,
        headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return body


@pytest.fixture
def watched_page(demo_user, signed_in_page):  # noqa: F811
    page = signed_in_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    return page


def test_hostile_filter_values_are_text_on_the_list_and_detail_pages(watched_page, hostile_metric):
    page = watched_page
    page.goto("/apps/appID1/")
    page.get_by_role("link", name=NAME).wait_for()
    assert_inert(page, page.requests_seen, shown=())  # the list shows names and base metrics only
    page.get_by_role("link", name=NAME).click()
    page.get_by_role("heading", name=NAME).wait_for()
    assert_inert(page, page.requests_seen)


def test_copying_a_hostile_metric_fills_the_builder_with_text_not_markup(watched_page, hostile_metric):
    page = watched_page
    page.goto(f"/apps/appID1/metrics/new/?copy_of={NAME}")
    page.get_by_role("heading", name=f"Copy of {NAME}").wait_for()
    values = page.locator("#filter-tree").evaluate(
        "tree => Array.from(tree.querySelectorAll('input, textarea')).map(e => e.value)"
    )
    assert SCRIPT in values and [IMAGE, HTMX] in [split_values(value) for value in values]
    assert_inert(page, page.requests_seen, shown=(SCRIPT,))  # the sentence quotes the values as text


def test_an_upstream_rejection_message_with_markup_is_shown_as_text(watched_page, fault_proxy):
    page = watched_page
    page.goto("/apps/appID1/metrics/new/")
    page.get_by_label("Name", exact=True).fill("hostile_rejection")
    page.locator("#name-check").get_by_text("hostile_rejection is free").wait_for()
    message = f"group_by {SCRIPT} {IMAGE} {HTMX} is not allowed"
    fault_proxy.script([Respond(400, {"message": message})])
    page.get_by_role("button", name="Create metric").click()
    page.get_by_text("Embrace rejected this:").wait_for()
    assert_inert(page, page.requests_seen)


def test_a_hostile_token_label_is_text_on_the_tokens_and_apps_pages(watched_page):
    user = User.objects.get(username=settings.DEMO_USERNAME)
    token = ApiToken(user=user, label=IMAGE + HTMX, region="sandbox")  # 85 characters: within the 100
    token.set_token(DEMO_TOKEN)
    token.save()
    token.set_apps(["appID3"])
    page = watched_page
    page.goto("/tokens/")
    page.get_by_role("heading", name="Your Embrace API tokens").wait_for()
    assert_inert(page, page.requests_seen, shown=(IMAGE, HTMX))
    page.goto("/")
    page.get_by_role("link", name="appID3").wait_for()
    assert_inert(page, page.requests_seen, shown=())
    assert HTMX in page.locator("main").inner_text()  # the label is on the apps page, as text
