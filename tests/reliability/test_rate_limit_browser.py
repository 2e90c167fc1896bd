"""The write limit's message reaches the person in a real browser (the console's htmx swaps no 4xx
answer, so it answers an htmx create past the limit with a 200 carrying the message)."""

import pytest

from metrics_ui.ops import ratelimit
from sandbox.models import CustomMetric
from tests.browser.conftest import demo_user, signed_in_page  # noqa: F401  (the browser's own fixtures)

pytestmark = pytest.mark.browser


def test_a_create_past_the_write_limit_shows_the_message_and_keeps_the_form(
    demo_user,  # noqa: F811
    signed_in_page,  # noqa: F811
    settings,
):
    settings.WRITE_RATE_LIMIT = "1/h"  # an hour: a test never straddles the window
    page = signed_in_page()
    for name in ("first_limited", "second_limited"):
        page.goto("/apps/appID1/metrics/new/")
        page.get_by_label("Name", exact=True).fill(name)
        page.locator("#name-check").get_by_text(f"{name} is free").wait_for()
        page.get_by_role("button", name="Create metric").click()
        if name == "first_limited":
            page.get_by_role("heading", name=name).wait_for()  # created: its page opened
    page.get_by_text(ratelimit.MESSAGE).wait_for()
    assert page.get_by_label("Name", exact=True).input_value() == "second_limited"
    assert page.get_by_role("button", name="Create metric").is_enabled()  # ready for the retry
    assert not CustomMetric.objects.filter(name="second_limited").exists()
    assert page.csp_violations == []
