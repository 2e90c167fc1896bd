"""Session lifetimes (idle and absolute), the sign-in key change, deactivation, and the admin's
"end sessions" — time travel by editing what the session store holds."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.utils import timezone

from metrics_ui.accounts.sessions import IDLE_EXPIRES_AT, SIGNED_IN_AT
from metrics_ui.models import AuditRecord, User
from tests.auth.conftest import expire_idle
from tests.markup import has

HTMX = {"HTTP_HX_REQUEST": "true"}
pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db):
    return User.objects.create_user("ed@example.com", email="ed@example.com", role="editor")


@pytest.fixture
def admin(db):
    return User.objects.create_user("ada@example.com", email="ada@example.com", role="admin")


def travel(client, seconds: float) -> None:
    """Make the session's sign-in look ``seconds`` older."""
    session = client.session
    session[SIGNED_IN_AT] = session[SIGNED_IN_AT] - seconds
    session.save()


def test_a_fresh_session_opens_pages(client, editor):
    client.force_login(editor)
    assert client.get("/").status_code == 200


def test_past_the_absolute_lifetime_the_person_is_signed_out_even_if_active(client, editor, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 8 * 3600
    client.force_login(editor)
    travel(client, 8 * 3600 - 60)
    assert client.get("/").status_code == 200  # a minute to go: still in
    travel(client, 120)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "time limit" in str(next(iter(get_messages(response.wsgi_request))))
    assert (
        AuditRecord.objects.get(action="auth.sign_out").detail == "the session reached its absolute lifetime"
    )


def test_past_the_absolute_lifetime_htmx_gets_hx_redirect(client, editor, settings):
    client.force_login(editor)
    travel(client, settings.SESSION_ABSOLUTE_SECONDS + 1)
    response = client.get("/", **HTMX)
    assert response["HX-Redirect"].startswith("/login/") and b"<form" not in response.content


def test_a_session_without_a_sign_in_stamp_is_not_trusted(client, editor):
    client.force_login(editor)
    session = client.session
    del session[SIGNED_IN_AT]
    session.save()
    assert client.get("/").status_code == 302


def test_past_the_idle_lifetime_the_session_is_gone(client, editor):
    client.force_login(editor)
    expire_idle(client.session.session_key)
    assert client.get("/").status_code == 302
    assert client.get("/", **HTMX)["HX-Redirect"].startswith("/login/")


def idle_for(client, seconds: float) -> str:
    """Make the session's last expiry push look ``seconds`` older, in the store and in the session."""
    if IDLE_EXPIRES_AT not in client.session:
        client.get("/")  # the first page after sign-in pushes the expiry
    session = client.session
    session[IDLE_EXPIRES_AT] = session[IDLE_EXPIRES_AT] - seconds
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=session[IDLE_EXPIRES_AT] - time.time())
    )
    return session.session_key


def test_a_request_after_a_minute_or_more_pushes_the_idle_expiry_forward(client, editor, settings):
    client.force_login(editor)
    key = idle_for(client, settings.SESSION_IDLE_SECONDS - 30)  # 30 seconds to go
    response = client.get("/")
    remaining = Session.objects.get(session_key=key).expire_date - timezone.now()
    assert remaining > timedelta(seconds=settings.SESSION_IDLE_SECONDS - 60)
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_IDLE_SECONDS


def test_requests_within_a_minute_of_the_last_push_do_not_write_the_session(client, editor, settings):
    """The idle expiry slides in steps of a minute, so a busy person's page views don't each write."""
    client.force_login(editor)
    key = idle_for(client, 20)
    stored = Session.objects.get(session_key=key).expire_date
    response = client.get("/")
    assert response.status_code == 200 and settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.get(session_key=key).expire_date == stored
    idle_for(client, 50)  # now 70 seconds since the last push: the next request pushes it
    client.get("/")
    remaining = Session.objects.get(session_key=key).expire_date - timezone.now()
    assert remaining > timedelta(seconds=settings.SESSION_IDLE_SECONDS - 60)


def test_a_shortened_idle_limit_applies_at_the_next_request(client, editor, settings):
    client.force_login(editor)
    key = client.session.session_key
    settings.SESSION_IDLE_SECONDS = settings.SESSION_COOKIE_AGE = 600
    client.get("/")
    remaining = Session.objects.get(session_key=key).expire_date - timezone.now()
    assert timedelta(seconds=540) < remaining <= timedelta(seconds=600)


def test_an_expired_session_cookie_does_not_create_a_new_session(client, editor, settings):
    client.force_login(editor)
    expire_idle(client.session.session_key)
    before = Session.objects.count()
    response = client.get("/")
    assert response.status_code == 302 and Session.objects.count() == before


def test_the_session_key_changes_at_sign_in_with_the_demo_form(client, settings):
    settings.DEMO_LOGIN_ENABLED = True
    User.objects.create_user("demo", password="demo-password", role="editor")
    session = client.session
    session["visited"] = True
    session.save()
    before = session.session_key
    response = client.post("/login/", {"username": "demo", "password": "demo-password"})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_a_failed_password_sign_in_is_audited(client, settings):
    settings.DEMO_LOGIN_ENABLED = True
    client.post("/login/", {"username": "demo", "password": "wrong"})
    refused = AuditRecord.objects.get(action="auth.refused")
    assert refused.username == "demo" and "wrong" not in refused.detail.replace("wrong username", "")


def test_a_deactivated_user_loses_access_at_the_next_request(client, editor):
    client.force_login(editor)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=editor.pk).update(is_active=False)
    assert client.get("/").status_code == 302


def test_admin_ends_all_sessions_of_a_user(client, admin, editor, django_user_model):
    from django.test import Client

    laptop, phone = Client(), Client()
    laptop.force_login(editor)
    phone.force_login(editor)
    client.force_login(admin)
    response = client.post(f"/users/{editor.pk}/end-sessions/")
    assert response.status_code == 302
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert client.get("/").status_code == 200  # the admin's own session is untouched
    assert User.objects.get(pk=editor.pk).is_active  # they may sign in again
    record = AuditRecord.objects.get(action="user.end_sessions")
    assert record.user == admin and record.detail == "ed@example.com: 2 session(s) ended"


def test_admin_deactivates_a_user_who_is_signed_out_everywhere(client, admin, editor):
    from django.test import Client

    laptop = Client()
    laptop.force_login(editor)
    client.force_login(admin)
    client.post(f"/users/{editor.pk}/deactivate/")
    assert not User.objects.get(pk=editor.pk).is_active
    assert laptop.get("/").status_code == 302
    assert AuditRecord.objects.get(action="user.deactivate").detail == "ed@example.com: 1 session(s) ended"
    page = client.get("/users/").content.decode()
    assert "ed@example.com" in page and "Deactivated" in page


def test_an_admin_cannot_deactivate_themselves(client, admin):
    client.force_login(admin)
    response = client.post(f"/users/{admin.pk}/deactivate/", follow=True)
    assert "can&#x27;t deactivate your own account" in response.content.decode()
    assert User.objects.get(pk=admin.pk).is_active


def test_the_user_list_finds_people_and_answers_htmx_with_the_table_only(client, admin, editor):
    client.force_login(admin)
    full = client.get("/users/?q=ed@").content.decode()
    assert "ed@example.com" in full and "<html" in full
    fragment = client.get("/users/?q=nobody", **HTMX).content.decode()
    assert fragment.lstrip().startswith('<div id="user-table"') and "No users match" in fragment
    # Going back, htmx 4 asks for the pushed URL again as an htmx request: it gets the whole page.
    restore = client.get("/users/?q=ed@", **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()
    assert "<html" in restore and "ed@example.com" in restore


def test_the_user_list_comes_in_pages_that_keep_the_search(client, admin):
    """A company with hundreds of people gets pages of 50; the search survives paging."""
    User.objects.bulk_create(
        [User(username=f"person{i:03}", email=f"person{i:03}@example.com") for i in range(120)]
    )
    client.force_login(admin)
    first = client.get("/users/?q=person").content.decode()
    assert "Page 1 of 3 (120 people)" in first
    assert "person000@example.com" in first and "person050@example.com" not in first
    assert has(first, "a", rel="next", href="/users/?q=person&page=2") and ">Next</a>" in first
    last = client.get("/users/?q=person&page=3").content.decode()
    assert "person119@example.com" in last and "person099@example.com" not in last
    assert has(last, "a", rel="prev", href="/users/?q=person&page=2") and ">Previous</a>" in last


def test_sign_out_is_audited_and_ends_the_session(client, editor):
    client.force_login(editor)
    key = client.session.session_key
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"].endswith("/login/")
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditRecord.objects.get(action="auth.sign_out").user == editor


def production_settings(**env) -> dict:
    """Selected settings as production computes them, in a fresh interpreter."""
    root = Path(__file__).resolve().parents[2]
    script = (
        "import json, django.conf as c; s = c.settings; "
        "print(json.dumps({k: getattr(s, k) for k in ['AUTHENTICATION_BACKENDS', 'SESSION_COOKIE_SECURE',"
        " 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_NAME', 'SESSION_COOKIE_AGE',"
        " 'SESSION_SAVE_EVERY_REQUEST', 'SESSION_ABSOLUTE_SECONDS', 'OIDC_TIMEOUT', 'MIDDLEWARE']}))"
    )
    base = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "CONSOLE_MODE": "production",
        "SECRET_KEY": "k7Qp-2vXz9LmN4rT8sW1yB6cD3fG5hJ0aE_uI7oP2qR9tY4wZ1xC8vB5nM3lK6jH",
        "ALLOWED_HOSTS": "metrics.example.com",
        "EMBRACE_TOKEN_KEYS": "bXktdGVzdC1rZXktbXktdGVzdC1rZXktbXktdGVzdDE=",
        "SANDBOX_ENABLED": "false",
        "DEMO_LOGIN_ENABLED": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**base, **env},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout)


def test_production_has_no_password_sign_in_unless_break_glass_is_on():
    oidc = {
        "OIDC_RP_CLIENT_ID": "console",
        "OIDC_DISCOVERY_URL": "https://idp.example.com/.well-known/openid-configuration",
    }
    plain = production_settings(**oidc)
    assert plain["AUTHENTICATION_BACKENDS"] == ["metrics_ui.accounts.oidc.OIDCBackend"]
    assert plain["SESSION_COOKIE_SECURE"] and plain["SESSION_COOKIE_HTTPONLY"]
    assert plain["SESSION_COOKIE_SAMESITE"] == "Lax" and plain["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert plain["SESSION_COOKIE_AGE"] == 2 * 3600
    assert (
        "metrics_ui.accounts.sessions.SessionLimitsMiddleware" in plain["MIDDLEWARE"]
    )  # idle and absolute limits
    assert plain["SESSION_ABSOLUTE_SECONDS"] == 10 * 3600 and plain["OIDC_TIMEOUT"] == 5
    assert "metrics_ui.accounts.oidc.SessionRefresh" in plain["MIDDLEWARE"]

    glass = production_settings(**oidc, BREAKGLASS_ENABLED="true")
    assert glass["AUTHENTICATION_BACKENDS"] == [
        "metrics_ui.accounts.oidc.OIDCBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_ENABLED": "true"}, "OIDC_ENABLED needs OIDC_RP_CLIENT_ID"),
        ({"OIDC_RP_CLIENT_ID": "console"}, "OIDC_ENABLED needs OIDC_DISCOVERY_URL"),
        ({"PROXY_AUTH_ENABLED": "true"}, "PROXY_AUTH_ENABLED needs PROXY_AUTH_TRUSTED_PROXIES"),
        ({"PROXY_AUTH_TRUSTED_PROXIES": "not-an-ip"}, "PROXY_AUTH_TRUSTED_PROXIES: 'not-an-ip'"),
    ],
    ids=["oidc-without-client", "oidc-without-provider", "proxy-without-proxies", "bad-proxy-network"],
)
def test_incomplete_sign_in_settings_stop_start_up_with_a_clear_message(env, message):
    assert message in production_settings(**env)["error"]


def test_sessions_start_with_a_stamp_of_now(client, editor):
    client.force_login(editor)
    assert abs(client.session[SIGNED_IN_AT] - time.time()) < 5


def test_a_session_cookie_replayed_after_sign_out_is_rejected(client, editor, settings):
    from django.test import Client

    client.force_login(editor)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/logout/")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert replay.get("/").status_code == 302


def test_admin_reactivates_a_user(client, admin, editor):
    User.objects.filter(pk=editor.pk).update(is_active=False)
    client.force_login(admin)
    page = client.get("/users/").content.decode()
    assert 'Reactivate<span class="visually-hidden"> ed@example.com</span>' in page
    client.post(f"/users/{editor.pk}/reactivate/")
    assert User.objects.get(pk=editor.pk).is_active
    assert AuditRecord.objects.get(action="user.reactivate").detail == "ed@example.com"
