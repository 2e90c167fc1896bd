"""Metrics as code over the live sandbox: export a file, import it with a plan first, apply it through
the write budget; notes travel with it; drift between the console's records and the app is shown."""

import json
import re

import requests
from django.core.management import call_command
from django.urls import reverse

from metrics_ui.models import AuditRecord, MetricNote
from sandbox.models import CustomMetric
from tests.faults import Forward, Respond

APP1, APP2 = "appID1", "appID2"


def _export(client, app_id=APP1, names=()):
    response = client.post(reverse("metric_export", args=[app_id]), {"names": list(names)})
    assert response["Content-Disposition"].startswith("attachment;")
    return response.content.decode()


def _plan(client, text, app_id=APP2, **extra):
    return client.post(reverse("metric_import", args=[app_id]), {"stage": "plan", "text": text, **extra})


def _apply(client, text, app_id=APP2, **extra):
    """Plan, then apply with what the plan page posts back (the sealed file), as a person does."""
    planned = _plan(client, text, app_id, delete_missing=extra.get("delete_missing", "")).content.decode()
    sealed = re.search(r'name="sealed" value="([^"]+)"', planned).group(1)
    return client.post(reverse("metric_import", args=[app_id]), {"stage": "apply", "sealed": sealed, **extra})


def _names(app_id):
    return set(CustomMetric.objects.filter(app__app_id=app_id).values_list("name", flat=True))


def test_export_then_import_into_an_empty_app_creates_everything_and_a_second_apply_does_nothing(
    signed_in_client, fault_proxy
):
    """The file is the API's own create bodies with a version and the source app; applying it twice
    creates once."""
    text = _export(signed_in_client)
    document = json.loads(text)
    assert document["version"] == 1 and document["app_id"] == APP1
    assert {m["name"] for m in document["metrics"]} == _names(APP1)
    assert set(document["metrics"][0]) == {"name", "metric", "group_by", "filters", "time_granularity",
                                           "data_destination"}  # fmt: skip

    fault_proxy.clear()
    plan = _plan(signed_in_client, text).content.decode()
    assert fault_proxy.count("POST") == 0 and fault_proxy.count("GET") <= 2  # one list (+ parameters)
    assert plan.count("Will be created") == len(document["metrics"])
    assert "Nothing has been sent yet" in plan

    applied = _apply(signed_in_client, text).content.decode()
    assert _names(APP2) == _names(APP1)
    assert applied.count("Done: created.") == len(document["metrics"])

    fault_proxy.clear()
    again = _apply(signed_in_client, text).content.decode()
    assert fault_proxy.count("POST") == 0 and fault_proxy.count("DELETE") == 0
    assert again.count("Already so: nothing to do.") == len(document["metrics"])
    assert AuditRecord.objects.filter(action="metric.import", app_id=APP2).count() == 2


def test_a_conflict_is_shown_and_skipped_or_replaced_as_chosen(signed_in_client, seed, sandbox_url):
    """Same name, other settings: skip leaves it; replace creates <name>_v2 and offers deleting the old."""
    text = _export(signed_in_client, names=["sessions_total_v1"])
    body = json.loads(text)["metrics"][0]
    requests.post(  # the same name with other settings, made straight in the sandbox
        f"{sandbox_url}/api/v1/app/{APP2}/custom-metrics",
        json={**body, "time_granularity": ["daily"]},
        headers={"Authorization": f"Bearer {seed['token']}"},
        timeout=10,
    ).raise_for_status()

    plan = _plan(signed_in_client, text).content.decode()
    assert "A metric with this name exists with other settings" in plan
    assert "create sessions_total_v2" in plan

    skipped = _apply(signed_in_client, text, **{"choice-sessions_total_v1": "skip"}).content.decode()
    assert "Skipped, as chosen" in skipped and _names(APP2) == {"sessions_total_v1"}

    replaced = _apply(signed_in_client, text, **{"choice-sessions_total_v1": "replace"}).content.decode()
    assert "Done: created as sessions_total_v2" in replaced
    assert "Delete the old sessions_total_v1" in replaced
    assert _names(APP2) == {"sessions_total_v1", "sessions_total_v2"}
    # Re-running the same file after the replacement does nothing.
    again = _apply(signed_in_client, text, **{"choice-sessions_total_v1": "replace"}).content.decode()
    assert "an earlier replacement" in again and len(_names(APP2)) == 2


def test_also_delete_needs_the_typed_app_id_and_deletes_only_what_the_plan_listed(signed_in_client):
    """Metrics the file doesn't have are listed only when asked, and deleted only once confirmed."""
    text = _export(signed_in_client, names=["sessions_total_v1"])
    without = _plan(signed_in_client, text, app_id=APP1).content.decode()
    assert "Will be deleted" not in without

    others = _names(APP1) - {"sessions_total_v1"}
    plan = _plan(signed_in_client, text, app_id=APP1, delete_missing="on").content.decode()
    assert plan.count("Will be deleted") == len(others)

    form = {"delete_missing": "on", "remove": sorted(others)[:1]}  # the plan as shown listed one
    refused = _apply(signed_in_client, text, app_id=APP1, **form).content.decode()
    assert f"Type {APP1} to confirm the deletions. Nothing was sent." in refused
    assert _names(APP1) == others | {"sessions_total_v1"}

    done = _apply(signed_in_client, text, app_id=APP1, confirm=APP1, **form).content.decode()
    assert "Done: deleted." in done
    assert _names(APP1) == (others - set(sorted(others)[:1])) | {"sessions_total_v1"}


def test_a_failure_mid_apply_is_reported_per_row_and_a_rerun_completes_the_rest(
    signed_in_client, fault_proxy
):
    """Embrace failing on the second create: that row says so, the others are done; applying again
    creates only what is missing."""
    text = _export(signed_in_client)
    count = len(json.loads(text)["metrics"])
    _plan(signed_in_client, text)  # the parameters are cached from here
    fault_proxy.script([Forward(), Forward(), Respond(503, {"message": "overloaded"})])
    first = _apply(signed_in_client, text).content.decode()
    assert first.count("Done: created.") == count - 1
    assert first.count("Failed:") == 1
    assert len(_names(APP2)) == count - 1

    fault_proxy.clear()
    second = _apply(signed_in_client, text).content.decode()
    assert fault_proxy.count("POST") == 1 and "Done: created." in second
    assert _names(APP2) == _names(APP1)


def test_a_malformed_file_is_explained_with_positions_and_nothing_is_sent_for_bad_entries(
    signed_in_client, fault_proxy
):
    good = {"name": "good_one", "metric": "sessions_total", "group_by": [], "filters": {},
            "time_granularity": ["hourly"], "data_destination": ["metrics_api"]}  # fmt: skip
    text = json.dumps({"version": 1, "app_id": APP1, "metrics": [
        good, {**good, "name": "9starts_with_digit"}, {**good, "name": "x", "metric": "no_such_base"},
        {**good, "name": "good_one"}, "nonsense",
    ]})  # fmt: skip
    plan = _plan(signed_in_client, text).content.decode()
    assert "Metric 2 (9starts_with_digit)" in plan and "can&#x27;t start with a digit" in plan
    assert "Metric 3 (x)</strong>: Base metric: “no_such_base” isn&#x27;t one this app offers" in plan
    assert "Metric 4 (good_one)" in plan and "appears earlier" in plan
    assert "Metric 5</strong>: Each metric must be a JSON object" in plan
    fault_proxy.clear()
    applied = _apply(signed_in_client, text).content.decode()
    assert fault_proxy.count("POST") == 1 and _names(APP2) == {"good_one"}
    assert "Done: created." in applied

    broken = _plan(signed_in_client, '{"metrics": [').content.decode()
    assert "The file</strong>: This isn&#x27;t valid JSON" in broken


def test_notes_travel_in_the_file_and_show_as_the_owner_column_with_a_filter(signed_in_client):
    MetricNote.objects.create(app_id=APP1, name="sessions_total_v1", description="Sessions per version",
                              owner="Payments team")  # fmt: skip
    text = _export(signed_in_client)
    assert json.loads(text)["notes"]["sessions_total_v1"]["owner"] == "Payments team"
    _apply(signed_in_client, text)
    note = MetricNote.objects.get(app_id=APP2, name="sessions_total_v1")
    assert note.owner == "Payments team" and note.managed and note.created_by_name == "demo-editor"

    page = signed_in_client.get(
        reverse("metric_list", args=[APP2]), {"owner": "Payments team"}
    ).content.decode()
    assert "sessions_total_v1" in page and "paid_user_adoption" not in page
    assert '<option value="Payments team" selected>' in page
    detail = signed_in_client.get(reverse("metric_detail", args=[APP2, "sessions_total_v1"])).content.decode()
    assert "Sessions per version" in detail and "By demo-editor" in detail


def test_drift_shows_metrics_made_and_deleted_outside_the_console(signed_in_client, seed, sandbox_url):
    """Made through the API directly: "created outside the console"; made here and deleted through the
    API: "deleted outside the console" with when it was last seen; adopt takes one under the notes."""
    text = _export(signed_in_client, names=["sessions_total_v1"])
    _apply(signed_in_client, text)
    api = f"{sandbox_url}/api/v1/app/{APP2}/custom-metrics"
    headers = {"Authorization": f"Bearer {seed['token']}"}
    body = {**json.loads(text)["metrics"][0], "name": "made_elsewhere"}
    requests.post(api, json=body, headers=headers, timeout=10).raise_for_status()

    page = signed_in_client.get(reverse("metric_list", args=[APP2])).content.decode()
    assert page.count("Created outside the console") == 1
    assert MetricNote.objects.get(app_id=APP2, name="sessions_total_v1").last_seen_at is not None

    requests.delete(f"{api}/sessions_total_v1", headers=headers, timeout=10).raise_for_status()
    page = signed_in_client.get(reverse("metric_list", args=[APP2])).content.decode()
    assert "Deleted outside the console" in page and "<strong>sessions_total_v1</strong>" in page
    assert "last seen 2" in page

    signed_in_client.post(reverse("metric_adopt", args=[APP2, "made_elsewhere"]))
    page = signed_in_client.get(reverse("metric_list", args=[APP2])).content.decode()
    assert "Created outside the console" not in page


def test_the_commands_export_and_plan_and_fail_on_conflicts_unless_told(
    demo_user, sandbox_url, tmp_path, capsys
):
    """For CI: the plan is printed; a conflict without --on-conflict exits non-zero and sends nothing."""
    out = tmp_path / "metrics.json"
    call_command("metrics_export", "--app", APP1, "--user", demo_user.username, "--token-label", "Sandbox",
                 "--output", str(out))  # fmt: skip
    assert {m["name"] for m in json.loads(out.read_text())["metrics"]} == _names(APP1)

    call_command("metrics_import", "--app", APP2, "--user", demo_user.username, "--file", str(out), "--apply")
    assert _names(APP2) == _names(APP1)
    capsys.readouterr()

    CustomMetric.objects.filter(app__app_id=APP2, name="sessions_total_v1").update(time_granularity=["daily"])
    try:
        call_command(
            "metrics_import", "--app", APP2, "--user", demo_user.username, "--file", str(out), "--apply"
        )
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("a conflict without --on-conflict must fail")
    assert "conflict" in capsys.readouterr().out
    call_command("metrics_import", "--app", APP2, "--user", demo_user.username, "--file", str(out), "--apply",
                 "--on-conflict", "replace")  # fmt: skip
    assert "sessions_total_v2" in _names(APP2)


def test_a_changed_plan_page_is_refused_and_nothing_is_sent(signed_in_client, fault_proxy):
    """The file comes back signed from the plan page; a forged one is refused in plain words."""
    fault_proxy.clear()
    page = signed_in_client.post(
        reverse("metric_import", args=[APP2]), {"stage": "apply", "sealed": "forged:value"}
    ).content.decode()
    assert "This plan is too old, or the page was changed." in page
    assert fault_proxy.count("POST") == 0 and _names(APP2) == set()


def test_an_apply_over_the_write_limit_sends_nothing_and_says_how_many_fit(
    signed_in_client, settings, fault_proxy
):
    settings.WRITE_RATE_LIMIT = "3/m"
    text = _export(signed_in_client)
    count = len(json.loads(text)["metrics"])
    response = _apply(signed_in_client, text)
    assert response.status_code == 429
    assert f"This import needs {count} changes and you can make 3 right now, so nothing was sent." in (
        response.content.decode()
    )
    assert _names(APP2) == set()


def test_notes_travel_with_copy_to_other_apps(signed_in_client):
    MetricNote.objects.create(
        app_id=APP1, name="sessions_total_v1", description="Per version", owner="Core team"
    )
    url = reverse("metric_copy", args=[APP1, "sessions_total_v1"])
    signed_in_client.post(url, {"apps": [APP2], "stage": "confirm"})
    note = MetricNote.objects.get(app_id=APP2, name="sessions_total_v1")
    assert (note.description, note.owner, note.managed) == ("Per version", "Core team", True)


def _create_form(name: str, **extra) -> dict:
    return {
        "name": name, "metric": "sessions_total", "built_for": "sessions_total", "group_by": ["app_version"],
        "time_granularity": ["daily"], "data_destination": ["metrics_api"], "action": "create", **extra,
    }  # fmt: skip


def test_notes_travel_with_create_a_copy_and_replace_and_record_who_created_it(signed_in_client):
    MetricNote.objects.create(
        app_id=APP1, name="sessions_total_v1", description="Per version", owner="Core team"
    )
    url = reverse("metric_create", args=[APP1])
    copy_page = signed_in_client.get(url, {"copy_of": "sessions_total_v1"}).content.decode()
    assert 'name="copy_of" value="sessions_total_v1"' in copy_page
    signed_in_client.post(url, _create_form("the_copy", copy_of="sessions_total_v1"))
    signed_in_client.post(url, _create_form("sessions_total_v2", replaces="sessions_total_v1"))
    for name in ("the_copy", "sessions_total_v2"):
        note = MetricNote.objects.get(app_id=APP1, name=name)
        assert (note.description, note.owner, note.created_by_name) == (
            "Per version",
            "Core team",
            "demo-editor",
        )


def test_an_editor_edits_the_notes_and_the_detail_page_shows_them(signed_in_client, demo_user):
    url = reverse("metric_notes", args=[APP1, "paid_user_adoption"])
    too_long = signed_in_client.post(url, {"description": "x" * 2001, "owner": "Growth"}).content.decode()
    assert "Ensure this value has at most 2000 characters" in too_long and 'value="Growth"' in too_long
    signed_in_client.post(url, {"description": "Who pays", "owner": "", "owner_user": demo_user.pk})
    detail = signed_in_client.get(
        reverse("metric_detail", args=[APP1, "paid_user_adoption"])
    ).content.decode()
    assert "Who pays" in detail and "demo-editor" in detail
    assert AuditRecord.objects.filter(action="metric.notes", metric="paid_user_adoption").exists()
