"""In a real browser, with the console's stylesheet and script as production serves them (minified
at collectstatic by dashboard/static_storage.py): pages look the same pixel for pixel, and a person
builds a filter, creates the metric and copies a query as with the readable sources."""

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


def shoot(page, url: str) -> bytes:
    page.goto(url)
    page.wait_for_load_state("networkidle")  # the list's trend lines come after the page
    if url == URL:  # with a condition row: the builder's own styles
        page.get_by_role("button", name="Add a condition to the whole filter").click()
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
    return page.screenshot(full_page=True, animations="disabled")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_look_the_same_with_the_minified_files(signed_in_page, demo_user, scheme):
    page = signed_in_page()
    page.emulate_media(color_scheme=scheme)
    pages = [URL, "/apps/appID1/", "/apps/appID1/import/", "/tokens/"]
    readable = {url: shoot(page, url) for url in pages}
    serve_minified(page)
    minified = {url: shoot(page, url) for url in pages}
    assert page.evaluate("() => [...document.styleSheets].some(s => s.href.endsWith('console.css'))")
    assert [url for url in pages if minified[url] != readable[url]] == []


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
