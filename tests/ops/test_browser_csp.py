"""A real headless chromium clicks through the main flows under the strict CSP: zero violations.

The live server sends the same ``SECURE_CSP`` that production sends (the policy does not depend on
the mode; the test checks the header it received). Violations are collected two ways: a
``securitypolicyviolation`` listener installed before any page script runs, and the console
messages chromium prints for blocked content.
"""

import json
import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(JSON.stringify({
    directive: event.effectiveDirective, blocked: event.blockedURI, sample: event.sample,
    where: `${event.sourceFile}:${event.lineNumber}`, page: location.pathname,
  }));
});
"""


@pytest.fixture
def csp_page(new_context, live_server, sandbox_url, transactional_db):
    call_command("demo_setup", stdout=StringIO())
    context = new_context(base_url=live_server.url)
    violations: list[str] = []

    def report(violation: str) -> None:
        violations.append(violation)

    def note_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    context.expose_function("reportCspViolation", report)
    context.add_init_script(LISTENER)
    page = context.new_page()
    page.on("console", note_console)
    page.violations = violations
    return page


def test_main_flows_run_with_zero_csp_violations(csp_page, live_server):
    page = csp_page

    # Sign in through the real form.
    response = page.goto("/login/")
    policy = response.headers["content-security-policy"]
    assert "'nonce-" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page.get_by_label("Username").fill(settings.DEMO_USERNAME)
    page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    # Home, then an app's metric list.
    page.get_by_role("link", name="appID1", exact=True).click()
    page.wait_for_url(re.compile(r"/apps/appID1/$"))
    page.locator("#metric-table tbody tr").first.wait_for()

    # Sorting is an htmx swap: proof that htmx runs under the policy.
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true") as sorted_request:
        page.locator("#metric-table thead a").first.click()
    assert "sort=" in sorted_request.value.url
    page.wait_for_url(re.compile(r"sort="))
    page.locator("#metric-table tbody tr").first.wait_for()

    # A metric's detail page.
    page.locator("#metric-table tbody th a").first.click()
    page.wait_for_url(re.compile(r"/apps/appID1/metrics/\w+/$"))

    # The create page and a click in the filter builder (an htmx swap of the tree).
    page.goto("/apps/appID1/metrics/new/")
    add_condition = page.locator("button[value^='add_condition:']").first
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true"):
        add_condition.click()
    page.locator("[name$='-key']").first.wait_for()

    # The tokens page and an error page.
    page.goto("/tokens/")
    missing = page.goto("/no/such/page/")
    assert missing.status == 404

    # Sign out.
    page.goto("/")
    page.get_by_role("button", name=re.compile("^Sign out")).click()
    page.wait_for_url(re.compile(r"/login/"))

    found = list(page.violations)

    # Control: the collectors do see a violation when there is one (an inline script added later).
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }"
    )
    page.wait_for_timeout(300)
    assert any("script-src" in v for v in page.violations[len(found) :]), "the collectors saw nothing"

    assert found == [], "\n".join(json.dumps(json.loads(v)) if v.startswith("{") else v for v in found)
