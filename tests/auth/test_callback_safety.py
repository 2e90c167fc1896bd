"""The sign-in callback and the break-glass link against strangers: PKCE is sent and enforced, a
cross-site link can't sign anyone out, and nothing anonymous can fill the audit trail."""

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from django.conf import settings as django_settings

from metrics_ui.models import AuditRecord
from tests.auth.conftest import EDITOR

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(browser: requests.Session, console: str) -> bool:
    return browser.get(f"{console}/", allow_redirects=False, timeout=10).status_code == 200


def refusals() -> list[str]:
    return list(AuditRecord.objects.filter(action="auth.refused").values_list("detail", flat=True))


# --- PKCE ---------------------------------------------------------------------------------------


def test_the_console_sends_a_pkce_challenge_by_default(live_server, oidc_settings):
    assert django_settings.OIDC_USE_PKCE is True
    start = requests.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=False, timeout=10)
    query = parse_qs(urlparse(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43


@pytest.mark.parametrize("idp", ["certified"], indirect=True)
def test_the_certified_provider_signs_nobody_in_without_pkce(live_server, oidc_settings, idp):
    oidc_settings.OIDC_USE_PKCE = False
    browser = requests.Session()
    answer = browser.get(f"{live_server.url}/oidc/authenticate/", timeout=10)

    # The provider sends the browser straight back with an error: there is no login form at all.
    assert answer.url.startswith(f"{live_server.url}/login/")
    assert "Signing in did not complete" in answer.text
    assert not signed_in(browser, live_server.url)
    assert refusals() == ["the identity provider answered invalid_request"]


# --- A cross-site link can't sign a person out -------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [{"error": "login_required"}, {"error": "access_denied", "state": "forged-elsewhere"}],
    ids=["no-state", "foreign-state"],
)
def test_a_cross_site_error_link_does_not_end_the_session(sign_in, live_server, query):
    browser = sign_in("alice@example.com", EDITOR).browser

    answer = browser.get(f"{live_server.url}/oidc/callback/?{urlencode(query)}", timeout=10)

    assert answer.url == f"{live_server.url}/"  # back home, still signed in
    assert signed_in(browser, live_server.url)
    assert not AuditRecord.objects.filter(action="auth.sign_out").exists()


# --- Nothing anonymous fills the audit trail ---------------------------------------------------------


def test_forged_callbacks_are_recorded_once_per_source_and_reason(live_server, oidc_settings):
    stranger, starter = requests.Session(), requests.Session()
    starter.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=False, timeout=10)
    for attempt in range(15):
        stranger.get(f"{live_server.url}/oidc/callback/?code=c{attempt}&state=s{attempt}", timeout=10)
        stranger.get(f"{live_server.url}/oidc/callback/?error=made-up-{attempt}", timeout=10)
        # A session with a sign-in under way, answered with states it never sent.
        starter.get(f"{live_server.url}/oidc/callback/?code=c{attempt}&state=s{attempt}", timeout=10)

    # Three kinds of forgery from one address: three records, not forty-five.
    assert sorted(refusals()) == [
        "sign-in response without a matching sign-in attempt (no_sign_in_attempt)",
        "sign-in response without a matching sign-in attempt (provider_error:other)",
        "sign-in response without a matching sign-in attempt (unknown_state)",
    ]


def test_a_provider_error_text_is_stored_as_a_known_code_never_as_sent(live_server, oidc_settings):
    browser = requests.Session()
    start = browser.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=False, timeout=10)
    state = parse_qs(urlparse(start.headers["Location"]).query)["state"][0]
    evil = "Call 555-0100 now: your account is locked"

    answer = browser.get(
        f"{live_server.url}/oidc/callback/?{urlencode({'error': evil, 'state': state})}", timeout=10
    )

    assert "Signing in did not complete" in answer.text
    assert refusals() == ["the identity provider answered other"]
    assert not AuditRecord.objects.filter(detail__icontains="555").exists()


def test_bad_break_glass_links_are_recorded_once_per_source(client, settings):
    settings.BREAKGLASS_ENABLED = True
    for attempt in range(10):
        assert client.get(f"/breakglass/Zm9v/1-guess{attempt}/").status_code == 404
    assert client.get("/breakglass/Zm9v/1-other/", REMOTE_ADDR="192.0.2.7").status_code == 404

    records = AuditRecord.objects.filter(action="auth.refused")
    assert sorted(records.values_list("source_ip", flat=True)) == ["127.0.0.1", "192.0.2.7"]
    assert set(records.values_list("detail", flat=True)) == {"break-glass link invalid or used"}
