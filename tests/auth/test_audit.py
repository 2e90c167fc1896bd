"""The audit trail: what ``audit.record`` writes, that it never breaks the person's action, that the
trail holds no token, that records can't be changed or removed, the browse page, the CSV export's
formula defusing, and the outcomes the live create and delete views record."""

import csv
import io
import json
import logging
from datetime import UTC

import pytest
from django.db import transaction
from django.test import RequestFactory
from django.urls import get_resolver

from metrics_ui.audit import trail as audit
from metrics_ui.models import ApiToken, AuditRecord, User
from metrics_ui.models.audit import AppendOnlyError
from tests.faults import Hang, Respond

pytestmark = pytest.mark.django_db
TOKEN = "tok_live_SECRET_0123456789abcdef"


@pytest.fixture
def editor(db):
    return User.objects.create_user("ed@example.com", email="ed@example.com", role="editor")


@pytest.fixture
def admin(db):
    return User.objects.create_user("ada@example.com", email="ada@example.com", role="admin")


def a_request(user=None, remote="198.51.100.4"):
    request = RequestFactory().post("/apps/appID1/metrics/new/", REMOTE_ADDR=remote)
    request.request_id = "req-0123456789"
    if user is not None:
        request.user = user
    return request


def everything_stored() -> str:
    return json.dumps(list(AuditRecord.objects.values()), default=str)


# --- audit.record -----------------------------------------------------------------------------------


def test_a_record_holds_who_when_what_and_how_it_ended(editor):
    body = {"name": "crash_rate", "metric": "crashes_total", "group_by": ["os_version"]}
    record = audit.record(
        a_request(editor), "metric.create", app_id="appID1", metric="crash_rate", body=body,
        upstream_status=409, outcome="conflict",
    )  # fmt: skip
    stored = AuditRecord.objects.get(pk=record.pk)
    assert (stored.user, stored.username, stored.email) == (editor, "ed@example.com", "ed@example.com")
    assert (stored.action, stored.app_id, stored.metric) == ("metric.create", "appID1", "crash_rate")
    assert stored.body == body and stored.upstream_status == 409 and stored.outcome == "conflict"
    assert stored.request_id == "req-0123456789" and stored.source_ip == "198.51.100.4"
    assert stored.created_at.utcoffset().total_seconds() == 0 and stored.created_at.tzinfo is not None


def test_a_management_command_records_without_a_request(admin):
    record = audit.record(None, "token.rotate", outcome="success", detail="3 re-encrypted", actor=admin)
    assert record.user == admin and record.source_ip is None and record.detail == "3 re-encrypted"
    anonymous = audit.record(None, "token.rotate", outcome="success")
    assert anonymous.user is None and anonymous.username == ""


def test_a_refused_sign_in_keeps_the_identity_that_was_tried():
    request = a_request()
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    record = audit.record(request, "auth.refused", outcome="refused", username="mallory@evil.example")
    assert record.user is None and record.username == "mallory@evil.example"
    assert record.email == "mallory@evil.example"


def test_token_like_keys_are_scrubbed_at_any_depth(editor):
    body = {
        "name": "x",
        "token": TOKEN,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "items": [{"api_token": TOKEN, "keep": 1}, {"Client-Secret": TOKEN}],
        "password": TOKEN,
    }
    record = audit.record(a_request(editor), "token.add", body=body, outcome="success")
    assert TOKEN not in everything_stored()
    assert record.body["name"] == "x" and record.body["items"][0]["keep"] == 1
    assert record.body["headers"] == {"Authorization": audit.REMOVED}


def test_an_audit_failure_is_logged_and_never_breaks_the_action(editor, caplog):
    caplog.set_level(logging.ERROR, logger="metrics_ui.audit")
    with transaction.atomic():
        # A body the database can't store (not JSON): the insert fails inside its own savepoint...
        assert audit.record(a_request(editor), "metric.create", body={"bad": object()}) is None
        # ...and the caller's transaction is still usable.
        assert audit.record(a_request(editor), "metric.create", outcome="success") is not None
    assert "Could not write the audit record" in caplog.text
    assert AuditRecord.objects.count() == 1


# --- append-only ------------------------------------------------------------------------------------


def test_records_cannot_be_changed_or_deleted(editor):
    record = audit.record(a_request(editor), "metric.delete", metric="m", outcome="deleted")
    record.outcome = "nothing happened"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=record.pk).update(outcome="edited")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().outcome == "deleted"


def test_a_user_with_records_cannot_be_deleted_only_deactivated(editor):
    from django.db.models import ProtectedError

    audit.record(a_request(editor), "metric.delete", outcome="deleted")
    with pytest.raises(ProtectedError):
        editor.delete()


def test_the_console_has_no_route_that_changes_the_trail(client, admin):
    audit_routes = sorted(
        str(p.pattern) for p in get_resolver().url_patterns[0].url_patterns if "audit" in str(p.pattern)
    )
    assert audit_routes == ["audit/", "audit/export.csv"]
    client.force_login(admin)
    assert client.post("/audit/").status_code == 405
    assert client.delete("/audit/").status_code == 405


# --- the page -----------------------------------------------------------------------------------------


def test_editors_see_their_own_records_and_admins_see_everyones(client, editor, admin):
    audit.record(a_request(editor), "metric.create", metric="editors_metric", outcome="created")
    audit.record(a_request(admin), "metric.delete", metric="admins_metric", outcome="deleted")

    client.force_login(editor)
    page = client.get("/audit/").content.decode()
    assert "editors_metric" in page and "admins_metric" not in page
    assert 'name="person"' not in page  # an editor can't ask for someone else's records
    assert "admins_metric" not in client.get("/audit/?person=ada").content.decode()

    client.force_login(admin)
    page = client.get("/audit/").content.decode()
    assert "editors_metric" in page and "admins_metric" in page
    filtered = client.get("/audit/?person=ed@&action=metric.create").content.decode()
    assert "editors_metric" in filtered and "admins_metric" not in filtered


def test_a_viewer_cannot_read_the_trail_and_the_refusal_is_itself_recorded(client):
    viewer = User.objects.create_user("vi@example.com", email="vi@example.com", role="viewer")
    client.force_login(viewer)
    assert client.get("/audit/").status_code == 403
    refusal = AuditRecord.objects.get(action="auth.forbidden")
    assert refusal.user == viewer and refusal.detail == "/audit/"


def test_filters_are_validated_and_htmx_gets_the_results_only(client, editor):
    audit.record(a_request(editor), "metric.create", app_id="appID1", outcome="created")
    client.force_login(editor)
    page = client.get("/audit/?since=2026-02-01&until=2026-01-01").content.decode()
    assert "The end date is before the start date." in page
    fragment = client.get("/audit/?app_id=appID1", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section id="audit-results"') and "1 record" in fragment
    assert "0 records" in client.get("/audit/?app_id=other", HTTP_HX_REQUEST="true").content.decode()
    # Going back, htmx 4 asks for the pushed URL again as an htmx request: it gets the whole page.
    restore = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true", "HTTP_HX_TARGET": "body"}
    assert "<html" in client.get("/audit/?app_id=appID1", **restore).content.decode()


# --- CSV export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_the_csv_export_defuses_cells_a_spreadsheet_would_run(client, editor, hostile):
    audit.record(a_request(editor), "metric.create", app_id="appID1", metric=hostile, outcome="created",
                 detail=hostile)  # fmt: skip
    client.force_login(editor)
    response = client.get("/audit/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    rows = [row for row in rows if row["action"] == "metric.create"]  # force_login's sign-in is there too
    assert len(rows) == 1
    assert rows[0]["metric"] == "'" + hostile and rows[0]["detail"] == "'" + hostile
    assert rows[0]["app_id"] == "appID1" and rows[0]["username"] == "ed@example.com"


def test_the_csv_export_follows_the_filters_and_the_readers_scope(client, editor, admin):
    audit.record(a_request(editor), "metric.create", metric="mine", outcome="created")
    audit.record(a_request(admin), "metric.create", metric="theirs", outcome="created")
    client.force_login(editor)
    text = b"".join(client.get("/audit/export.csv").streaming_content).decode()
    assert "mine" in text and "theirs" not in text
    client.force_login(admin)
    text = b"".join(client.get("/audit/export.csv?metric=theirs").streaming_content).decode()
    assert "theirs" in text and "mine" not in text


def test_csv_safe_leaves_ordinary_text_alone():
    assert audit.csv_safe("crash_rate") == "crash_rate" and audit.csv_safe(None) == ""
    assert audit.csv_safe(409) == "409" and audit.csv_safe("a=b") == "a=b"


# --- the outcomes the live create and delete views record ---------------------------------------------


@pytest.fixture
def author(db, settings):
    user = User.objects.create_user("au@example.com", email="au@example.com", role="editor")
    token = ApiToken(user=user, label="Sandbox", region="sandbox")
    token.set_token(TOKEN)
    token.save()
    token.set_apps(["appID1"])
    return user


CREATE = {
    "name": "sessions_by_version", "metric": "sessions_total", "built_for": "sessions_total",
    "time_granularity": ["hourly"], "data_destination": ["metrics_api"], "action": "create",
}  # fmt: skip
# The parameters look-up fails without a retry (404): the form falls back to the built-in catalog.
PARAMETERS_FAIL = Respond(404, {"message": "not found"})


@pytest.mark.parametrize(
    ("script", "status", "outcome_starts"),
    [
        ([PARAMETERS_FAIL, Respond(400, {"message": "group_by os_version is not allowed"})], 400, "failed"),
        ([PARAMETERS_FAIL, Respond(403, {"message": "forbidden"})], 403, "failed"),
        ([PARAMETERS_FAIL, Respond(409, {"message": "already exists"})], 409, ""),
        ([PARAMETERS_FAIL, Respond(500, {"message": "internal"})], 500, "failed"),
        ([PARAMETERS_FAIL, Hang()], None, ""),
    ],
    ids=["400", "403", "409", "5xx", "timeout"],
)
def test_each_create_outcome_is_recorded_without_the_token(
    client, author, fault_upstream, fast_upstream_settings, script, status, outcome_starts
):
    fault_upstream.script(script)
    client.force_login(author)
    client.post("/apps/appID1/metrics/new/", CREATE)
    record = AuditRecord.objects.get(action="metric.create")
    assert (record.user, record.app_id, record.metric) == (author, "appID1", "sessions_by_version")
    assert record.upstream_status == status and record.outcome.startswith(outcome_starts) and record.outcome
    assert record.body["name"] == "sessions_by_version" and record.body["metric"] == "sessions_total"
    assert fault_upstream.count("POST") == 1  # a create is never retried
    sent = next(r for r in fault_upstream.requests if r.method == "POST")
    assert TOKEN in sent.headers.get("authorization", "")  # the token did go upstream...
    assert TOKEN not in everything_stored()  # ...and never into the trail


def test_a_successful_create_over_the_live_sandbox_is_recorded(client, seed, sandbox_url):
    user = User.objects.create_user("ok@example.com", email="ok@example.com", role="editor")
    token = ApiToken(user=user, label="Sandbox", region="sandbox")
    token.set_token(seed["token"])
    token.save()
    token.set_apps(list(seed["apps"]))
    client.force_login(user)
    client.post(f"/apps/{seed['apps'][0]}/metrics/new/", CREATE)
    record = AuditRecord.objects.get(action="metric.create")
    assert record.upstream_status == 200 and record.outcome.startswith("created")
    assert seed["token"] not in everything_stored()


@pytest.mark.parametrize(
    ("answer", "status", "outcome"),
    [
        (Respond(204), 204, "deleted"),
        (Respond(400, {"message": "bad name"}), 400, "failed"),
        (Respond(403, {"message": "forbidden"}), 403, "failed"),
        (Respond(409, {"message": "in use"}), 409, "failed"),
        (Respond(500, {"message": "internal"}), 500, "failed"),
        (Hang(), None, "failed"),
    ],
    ids=["success", "400", "403", "409", "5xx", "timeout"],
)
def test_each_delete_outcome_is_recorded_without_the_token(
    client, author, fault_upstream, fast_upstream_settings, answer, status, outcome
):
    fault_upstream._set(answer)
    client.force_login(author)
    client.post("/apps/appID1/metrics/crash_rate/delete/", {"confirm_name": "crash_rate"})
    record = AuditRecord.objects.get(action="metric.delete")
    assert (record.user, record.app_id, record.metric) == (author, "appID1", "crash_rate")
    assert (record.upstream_status, record.outcome) == (status, outcome)
    assert TOKEN not in everything_stored()


def test_times_are_stored_in_utc(editor):
    record = audit.record(a_request(editor), "metric.create")
    assert record.created_at.astimezone(UTC) == record.created_at


def test_a_bad_filter_is_explained_and_the_good_ones_still_apply(client, editor):
    audit.record(a_request(editor), "metric.create", app_id="appID1", outcome="created")
    audit.record(a_request(editor), "metric.delete", app_id="appID2", outcome="deleted")
    client.force_login(editor)
    page = client.get("/audit/?action=not-an-action&app_id=appID2").content.decode()
    assert "Select a valid choice" in page
    assert (
        "1 record" in page and "<td>Deleted a metric</td>" in page and "<td>Created a metric</td>" not in page
    )
