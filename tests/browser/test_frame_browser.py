"""In a real browser, as an admin: every page of the console passes axe-core (visible text part of each
accessible name included), forms lay out as forms at 1280 px, and breadcrumbs show their separators."""

import pytest

from metrics_ui.models import ApiToken
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

NAME = "sessions_total_v1"
APP_PAGES = (
    "/apps/appID1/",
    f"/apps/appID1/metrics/{NAME}/",
    "/apps/appID1/metrics/new/",
    f"/apps/appID1/metrics/new/?replace={NAME}",
    f"/apps/appID1/metrics/new/?copy_of={NAME}",
    f"/apps/appID1/metrics/{NAME}/copy/",
    f"/apps/appID1/metrics/{NAME}/delete/",
)


def every_page(user) -> list[str]:
    token = ApiToken.objects.filter(user=user).first()
    return [
        "/",
        "/tokens/",
        f"/tokens/{token.pk}/replace/",
        f"/tokens/{token.pk}/delete/",
        "/audit/",
        "/users/",
        "/no-access/",
        *APP_PAGES,
        "/apps/appID1/metrics/never_existed/",
    ]


def test_every_page_has_no_serious_accessibility_violations(signed_in_page, demo_user):
    """Includes axe's label-content-name-mismatch: a control's accessible name contains its visible text."""
    page = signed_in_page(bypass_csp=True)
    found = {}
    # Something in the audit trail, so its table is checked too.
    page.goto(f"/apps/appID1/metrics/{NAME}/copy/")
    page.get_by_role("checkbox", name="appID2").check()
    page.get_by_role("button", name="Check these apps").click()
    page.get_by_role("table").wait_for()
    found["copy: the plan"] = axe_violations(page, also=("label-content-name-mismatch",))
    for path in every_page(demo_user):
        page.goto(path)
        found[path] = axe_violations(page, also=("label-content-name-mismatch",))
    page.goto(f"/apps/appID1/metrics/{NAME}/")
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").wait_for()
    found["delete dialog"] = axe_violations(page, also=("label-content-name-mismatch",))
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/**")
    found["sign-in page"] = axe_violations(page, also=("label-content-name-mismatch",))
    assert {where: v for where, v in found.items() if v} == {}


def test_buttons_on_the_users_and_tokens_pages_say_their_visible_text_to_screen_readers(
    signed_in_page, demo_user
):
    page = signed_in_page()
    page.goto("/users/")
    who = demo_user.email or demo_user.username
    assert page.get_by_role("button", name=f"End sessions of {who}", exact=True).is_visible()
    page.goto("/tokens/")
    label = ApiToken.objects.filter(user=demo_user).first().label
    assert page.get_by_role("link", name=f"Replace {label}", exact=True).is_visible()
    assert page.get_by_role("link", name=f"Remove {label}", exact=True).is_visible()


# For each form in the main area: labels broken inside a word, text fields under 120 px, and buttons
# wider than their text needs (Pico's grouped styling stretches them).
FORM_LAYOUT = """() => {
  const problems = [];
  for (const form of document.querySelectorAll('main form')) {
    for (const label of form.querySelectorAll('label, legend')) {
      const text = label.firstChild && label.firstChild.nodeType === 3 ? label.firstChild : null;
      if (!text) continue;
      const re = /\\S+/g; let m;
      while ((m = re.exec(text.data))) {
        const range = document.createRange();
        range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) problems.push(`label "${label.textContent.trim()}" breaks inside "${m[0]}"`);
      }
    }
    const fields = form.querySelectorAll(
      'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit]), select, textarea');
    for (const field of fields) {
      const width = field.getBoundingClientRect().width;
      if (width < 120) problems.push(`field ${field.name} is ${Math.round(width)} px wide`);
    }
    for (const button of form.querySelectorAll('button, [role=button]')) {
      if (button.closest('#filter-tree')) continue;
      const clone = button.cloneNode(true);
      clone.style.width = 'max-content'; clone.style.position = 'absolute'; clone.style.flex = 'none';
      button.parentNode.appendChild(clone);
      const natural = clone.getBoundingClientRect().width;
      clone.remove();
      const width = Math.round(button.getBoundingClientRect().width);
      const name = button.textContent.trim();
      if (width > natural + 2) problems.push(`button "${name}": ${width} px, needs ${Math.round(natural)}`);
    }
  }
  return problems;
}"""


def test_forms_lay_out_as_forms_at_1280_px(signed_in_page, demo_user):
    """Labels above their fields, in whole words; fields at least 120 px wide; buttons sized by their text."""
    page = signed_in_page(bypass_csp=True)  # the check clones buttons with a style attribute
    page.set_viewport_size({"width": 1280, "height": 900})
    found = {}
    token = ApiToken.objects.filter(user=demo_user).first()
    paths = ("/audit/", "/users/", "/tokens/", f"/tokens/{token.pk}/replace/", "/apps/appID1/",
             f"/apps/appID1/metrics/{NAME}/copy/", f"/apps/appID1/metrics/{NAME}/delete/")  # fmt: skip
    for path in paths:
        page.goto(path)
        assert page.locator("main form").count(), path
        found[path] = page.evaluate(FORM_LAYOUT)
    page.goto("/audit/")
    label_top = page.locator("main form label").first.bounding_box()["y"]
    field_top = page.locator("main form select, main form input:not([type=hidden])").first.bounding_box()["y"]
    assert label_top < field_top, "labels sit above their fields"
    assert {path: problems for path, problems in found.items() if problems} == {}


SEPARATORS = """() => [...document.querySelectorAll('nav[aria-label=breadcrumb] li:not(:last-child)')]
  .map(li => getComputedStyle(li, '::after').content)"""


def test_the_breadcrumb_on_every_page_inside_an_app_shows_its_separators(signed_in_page, demo_user):
    page = signed_in_page()
    for path in APP_PAGES:
        page.goto(path)
        separators = page.evaluate(SEPARATORS)
        assert separators, f"{path}: no breadcrumb steps before the current page"
        assert all(content not in ("none", "normal", '""', "") for content in separators), (path, separators)
