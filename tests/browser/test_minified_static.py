"""In a real browser, with the console's stylesheet and script as production serves them (minified at
collectstatic by dashboard/static_storage.py): the create page looks the same pixel for pixel, and a
person builds a filter, creates the metric and copies a query as with the readable sources."""

import re

import pytest

from dashboard.static_storage import minify
from sandbox.models import CustomMetric
from tests.browser.test_builder_browser import NAME, URL, build

pytestmark = pytest.mark.browser

OWN = ("css/console.css", "js/console.js")


def serve_minified(page) -> None:
    from django.conf import settings

    def answer(name: str):
        data = minify(name, (settings.BASE_DIR / "static" / name).read_bytes())
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return lambda route: route.fulfill(body=data, content_type=kind)

    for name in OWN:
        page.route(f"**/static/{name}", answer(name))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_create_page_looks_the_same_with_the_minified_files(signed_in_page, demo_user, scheme):
    page = signed_in_page()
    page.emulate_media(color_scheme=scheme)
    page.goto(URL)
    page.get_by_role("button", name="Add a condition to the whole filter").click()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    readable = page.screenshot(full_page=True, animations="disabled")
    serve_minified(page)
    page.goto(URL)
    page.get_by_role("button", name="Add a condition to the whole filter").click()
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    assert page.evaluate("() => [...document.styleSheets].some(s => s.href.endsWith('console.css'))")
    assert page.screenshot(full_page=True, animations="disabled") == readable


def test_build_create_and_copy_with_the_minified_files(signed_in_page, demo_user):
    page = signed_in_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    serve_minified(page)
    page.goto(URL)
    build(page, javascript=True)
    page.get_by_role("button", name="Create metric").click()
    page.wait_for_url(re.compile(rf"/apps/appID1/metrics/{NAME}/$"))
    assert CustomMetric.objects.filter(app__app_id="appID1", name=NAME).exists()
    page.get_by_role("button", name="Copy query").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert NAME in page.evaluate("() => navigator.clipboard.readText()")
    assert page.csp_violations == []
