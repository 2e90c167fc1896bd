"""Browser fixtures: a signed-in page and an axe-core accessibility check, for every browser test.

Reuse them like this::

    from tests.browser.conftest import axe_violations

    @pytest.mark.browser
    def test_something(signed_in_page, demo_user):
        page = signed_in_page()                      # demo user, strict CSP enforced
        page.goto("/apps/appID1/")
        ...
        assert page.csp_violations == []             # CSP errors seen in the console since sign-in

        audit = signed_in_page(bypass_csp=True)      # a separate context, for axe only
        audit.goto("/apps/appID1/")
        assert axe_violations(audit) == []           # serious and critical ones, as readable strings

* ``demo_user``: runs ``demo_setup`` (sandbox seed, demo user as admin, sandbox token for appID1 and
  appID2) and returns the user.
* ``signed_in_page(username=None, password=None, *, bypass_csp=False)``: a new browser context whose
  ``base_url`` is the live server (so ``page.goto("/tokens/")`` works), signed in through the real
  login form (the demo user by default). The sandbox is wired to the live server (``sandbox_url``).
  ``page.csp_violations`` collects Content-Security-Policy errors reported in the console.
  ``bypass_csp=True`` is only for injecting axe-core: never use it for behaviour tests.
* ``axe_violations(page, impacts=("serious", "critical"))``: injects the vendored axe-core into the
  current page (the context must bypass CSP) and returns one line per violation of those impacts.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1.min.js"


@pytest.fixture
def demo_user(transactional_db, settings):
    from metrics_ui.models import User

    # The real password hasher costs about a second per hash here (set, then checked at sign-in).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo_setup", stdout=StringIO())
    return User.objects.get(username=settings.DEMO_USERNAME)


@pytest.fixture
def signed_in_page(new_context, live_server, sandbox_url):
    def open_page(
        username: str | None = None,
        password: str | None = None,
        *,
        bypass_csp: bool = False,
        javascript: bool = True,
    ):
        context = new_context(base_url=live_server.url, bypass_csp=bypass_csp, java_script_enabled=javascript)
        page = context.new_page()
        page.csp_violations = []

        def note_csp(message) -> None:
            if "Content Security Policy" in message.text:
                page.csp_violations.append(message.text)

        page.on("console", note_csp)
        page.goto("/login/")
        page.get_by_label("Username").fill(username or settings.DEMO_USERNAME)
        page.get_by_label("Password").fill(password or settings.DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return open_page


def axe_violations(
    page, impacts: tuple[str, ...] = ("serious", "critical"), also: tuple[str, ...] = ()
) -> list[str]:
    """axe-core's violations of the given impacts on the current page, one readable line each.

    ``also`` turns on rules axe leaves off by default (``label-content-name-mismatch``, experimental).
    """
    # A request after the page (a chart loading) fades the busy indicator in or out: axe would judge
    # the contrast of its text halfway through the fade, which nobody reads.
    page.wait_for_function(
        "() => { const busy = document.getElementById('busy');"
        " return !busy || busy.getAnimations({subtree: true}).length === 0; }"
    )
    page.add_script_tag(path=str(AXE))
    rules = {rule: {"enabled": True} for rule in also}
    result = page.evaluate(
        "async (rules) => await axe.run(document, {resultTypes: ['violations'], rules})", rules
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[node['target'] for node in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in impacts
    ]
