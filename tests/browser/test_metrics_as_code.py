"""In a real browser: an editor exports appID1's metrics, imports the file into appID2, reviews the plan,
applies it and sees the owner column; a viewer can export but is offered no import."""

import json
from pathlib import Path

import pytest

from metrics_ui.models import ApiToken, MetricNote, User
from sandbox.management.commands.sandbox_seed import DEMO_TOKEN
from sandbox.models import CustomMetric

pytestmark = pytest.mark.browser


def _download_export(page, tmp_path: Path) -> Path:
    with page.expect_download() as download:
        page.get_by_role("button", name="Export metrics (ticked, or all)").click()
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    return target


def test_an_editor_exports_imports_reviews_the_plan_applies_and_sees_owners(
    signed_in_page, demo_user, tmp_path
):
    MetricNote.objects.create(app_id="appID1", name="sessions_total_v1", owner="Payments team")
    page = signed_in_page()
    page.goto("/apps/appID1/")
    exported = _download_export(page, tmp_path)
    names = {m["name"] for m in json.loads(exported.read_text())["metrics"]}
    assert exported.name == "appID1-custom-metrics.json" and "sessions_total_v1" in names

    page.goto("/apps/appID2/")
    page.get_by_role("button", name="Import metrics…").click()
    page.get_by_label("Export file").set_input_files(str(exported))
    page.get_by_role("button", name="Show the plan").click()
    page.get_by_text("The plan. Nothing has been sent yet.").wait_for()
    assert page.locator("tr.plan-create").count() == len(names)
    assert CustomMetric.objects.filter(app__app_id="appID2").count() == 0
    page.screenshot(path=str(tmp_path / "import-plan.png"), full_page=True)

    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Applied.").wait_for()
    assert page.get_by_text("Done: created.").count() == len(names)
    assert set(CustomMetric.objects.filter(app__app_id="appID2").values_list("name", flat=True)) == names

    page.get_by_role("button", name="Back to appID2").click()
    assert page.get_by_role("columnheader", name="Owner").is_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="sessions_total_v1", exact=True))
    assert "Payments team" in row.inner_text()
    assert page.csp_violations == []


def test_a_viewer_can_export_but_is_offered_no_import(signed_in_page, demo_user, tmp_path):
    viewer = User.objects.create_user("viewer", password="viewer-pass-123", role=User.Role.VIEWER)
    token = ApiToken(user=viewer, label="Sandbox", region="sandbox")
    token.set_token(DEMO_TOKEN)
    token.save()
    token.set_apps(["appID1"])
    page = signed_in_page("viewer", "viewer-pass-123")
    page.goto("/apps/appID1/")
    exported = _download_export(page, tmp_path)
    assert json.loads(exported.read_text())["app_id"] == "appID1"
    assert page.get_by_role("button", name="Import metrics…").count() == 0
    assert page.goto("/apps/appID1/import/").status == 403
