"""Break-glass: off by default; when enabled, the command warns, writes an audit record, and prints a
one-time link that signs a local admin in once, within its lifetime, without any password."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from metrics_ui.models import AuditRecord, User

pytestmark = pytest.mark.django_db


def run(**options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("breakglass_login", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def enabled(settings):
    settings.BREAKGLASS_ENABLED = True
    return settings


def link_of(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_the_command_refuses_to_run_unless_enabled(settings):
    settings.BREAKGLASS_ENABLED = False
    with pytest.raises(CommandError, match="BREAKGLASS_ENABLED=true"):
        run()
    assert not User.objects.exists() and not AuditRecord.objects.exists()


def test_the_command_warns_creates_a_local_admin_and_writes_an_audit_record(enabled):
    out, err = run(email="oncall@example.com", base_url="https://metrics.example.com/")
    assert "WARNING: break-glass sign-in bypasses single sign-on" in err
    assert link_of(out).startswith("https://metrics.example.com/breakglass/")
    admin = User.objects.get(username="breakglass-admin")
    assert admin.role == "admin" and admin.is_active and not admin.has_usable_password()
    assert admin.email == "oncall@example.com"
    record = AuditRecord.objects.get(action="auth.breakglass_issued")
    assert record.user == admin and record.outcome == "created" and "command line" in record.detail


def test_the_link_signs_in_once_after_a_confirmation(client, enabled):
    link = link_of(run()[0])
    page = client.get(link)
    assert page.status_code == 200 and "Sign in as breakglass-admin" in page.content.decode()
    assert client.get("/").status_code == 302  # looking at the link signed nobody in

    response = client.post(link)
    assert response.status_code == 302 and client.get("/users/").status_code == 200
    assert AuditRecord.objects.get(action="auth.sign_in").detail == "break-glass link"

    client.logout()
    used = client.post(link)
    assert used.status_code == 404 and "This link doesn't work" in used.content.decode()
    assert client.get("/").status_code == 302


def test_running_the_command_again_voids_the_previous_link(client, enabled):
    first = link_of(run()[0])
    second = link_of(run()[0])
    assert client.post(first).status_code == 404
    assert client.post(second).status_code == 302
    assert AuditRecord.objects.filter(action="auth.breakglass_issued", outcome="updated").count() == 1


def test_an_expired_link_does_not_work(client, enabled):
    enabled.BREAKGLASS_LINK_SECONDS = -1
    assert client.post(link_of(run()[0])).status_code == 404


def test_links_stop_working_when_break_glass_is_switched_off(client, enabled):
    link = link_of(run()[0])
    enabled.BREAKGLASS_ENABLED = False
    assert client.get(link).status_code == 404 and client.post(link).status_code == 404


def test_a_tampered_link_does_not_work(client, enabled):
    link = link_of(run()[0])
    assert client.post(link[:-3] + "abc/").status_code == 404
    assert client.post("/breakglass/Zm9v/1-abc/").status_code == 404
