"""OpenID Connect sign-in, end to end: a real provider process on loopback, the console on
``live_server``, and a ``requests`` session following every redirect like a browser."""

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from metrics_ui.models import AuditRecord, User
from tests.auth.conftest import (
    ADMIN,
    BOTH,
    CLIENT_ID,
    EDITOR,
    SUPPORT,
    VIEWER,
    idp_user,
    run_flow,
    session_store,
)

pytestmark = pytest.mark.django_db(transaction=True)

NO_ACCESS = f"You don't have access to Custom Metrics Console; ask {SUPPORT}"


def signed_in(browser: requests.Session, console: str) -> bool:
    """Whether the browser's session opens the home page (rather than being sent to sign in)."""
    response = browser.get(f"{console}/", allow_redirects=False, timeout=10)
    return response.status_code == 200


@pytest.mark.parametrize("idp", BOTH, indirect=True)
def test_an_allowed_user_gets_in_and_is_created_from_the_claims(sign_in, live_server):
    result = sign_in("alice@example.com", EDITOR, given_name="Alice", family_name="Able")

    assert result.response.status_code == 200
    assert result.response.url == f"{live_server.url}/"
    assert signed_in(result.browser, live_server.url)
    alice = User.objects.get(email="alice@example.com")
    assert (alice.username, alice.role, alice.first_name, alice.last_name) == (
        "alice@example.com",
        "editor",
        "Alice",
        "Able",
    )
    assert not alice.has_usable_password()
    sign_in_record = AuditRecord.objects.get(action="auth.sign_in")
    assert sign_in_record.user == alice and sign_in_record.detail == "single sign-on (OIDC)"
    assert sign_in_record.request_id and sign_in_record.source_ip == "127.0.0.1"


def test_the_session_key_changes_at_sign_in(sign_in):
    result = sign_in("alice@example.com", EDITOR)
    after = result.browser.cookies.get("console_session")
    # The flow's own anonymous session (holding state and nonce) is replaced by a new one.
    assert result.session_cookie_before and after and after != result.session_cookie_before
    assert session_store(result.session_cookie_before).load() == {}


@pytest.mark.parametrize("idp", BOTH, indirect=True)
@pytest.mark.parametrize(
    ("email", "groups", "reason"),
    [
        ("mallory@evil.example", EDITOR, "e-mail domain 'evil.example' is not in ALLOWED_EMAIL_DOMAINS"),
        ("bob@example.com", ["console-editors"], "not in any of REQUIRED_GROUPS"),
        ("carol@example.com", ["console-users"], "no role group matched"),
        ("dan@example.com", None, "not in any of REQUIRED_GROUPS"),
    ],
    ids=["wrong-domain", "missing-required-group", "no-role-group", "no-groups-claim"],
)
def test_a_refused_user_sees_the_no_access_page_and_gets_no_session(
    sign_in, live_server, email, groups, reason
):
    result = sign_in(email, groups)

    assert result.response.status_code == 403
    assert NO_ACCESS in result.response.text
    assert 'type="password"' not in result.response.text
    assert not result.browser.cookies.get("console_session")
    assert not signed_in(result.browser, live_server.url)
    assert not User.objects.filter(email=email).exists()
    refused = AuditRecord.objects.get(action="auth.refused")
    assert refused.username == email and refused.user is None and reason in refused.detail
    assert not AuditRecord.objects.filter(action="auth.sign_in").exists()


@pytest.mark.parametrize("idp", BOTH, indirect=True)
def test_roles_follow_the_groups_and_a_demotion_applies_at_the_next_sign_in(sign_in, live_server):
    admin = sign_in("erin@example.com", ADMIN)
    assert User.objects.get(email="erin@example.com").role == "admin"
    assert admin.browser.get(f"{live_server.url}/users/", timeout=10).status_code == 200

    # The IdP moves Erin to the viewers; her next sign-in (a new browser) makes her a viewer.
    viewer = sign_in("erin@example.com", VIEWER)
    assert viewer.response.status_code == 200
    assert User.objects.get(email="erin@example.com").role == "viewer"
    assert viewer.browser.get(f"{live_server.url}/users/", timeout=10).status_code == 403
    assert viewer.browser.get(f"{live_server.url}/audit/", timeout=10).status_code == 403
    assert User.objects.filter(email__iexact="erin@example.com").count() == 1

    # And removed from every role group: refused outright, not kept at the old role.
    refused = sign_in("erin@example.com", ["console-users"])
    assert refused.response.status_code == 403 and NO_ACCESS in refused.response.text


def test_a_user_deactivated_in_the_console_is_refused_by_sso(sign_in):
    User.objects.create_user("frank@example.com", email="frank@example.com", role="editor", is_active=False)
    result = sign_in("frank@example.com", EDITOR)
    assert result.response.status_code == 403 and NO_ACCESS in result.response.text
    assert "deactivated" in AuditRecord.objects.get(action="auth.refused").detail


@pytest.mark.parametrize("idp", BOTH, indirect=True)
def test_logout_ends_the_session_and_the_provider_session(sign_in, live_server, idp):
    result = sign_in("alice@example.com", EDITOR)
    browser = result.browser
    csrf = browser.cookies.get("console_csrftoken")
    response = browser.post(
        f"{live_server.url}/logout/", headers={"X-CSRFToken": csrf}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{idp.url}{idp.end_session_path}"
    params = parse_qs(location.query)
    assert params["client_id"] == [CLIENT_ID]
    assert params["post_logout_redirect_uri"] == [f"{live_server.url}/login/"]
    assert params["id_token_hint"][0].count(".") == 2  # a JWT
    assert not signed_in(browser, live_server.url)
    assert AuditRecord.objects.filter(action="auth.sign_out", user__email="alice@example.com").count() == 1

    # The provider's end-session page sends the browser back to our sign-in page.
    confirm = browser.get(response.headers["Location"], timeout=10)
    back = idp.confirm_logout(browser, confirm, params["post_logout_redirect_uri"][0])
    assert confirm.status_code == 200
    assert back.url == f"{live_server.url}/login/" and "Sign in with Example SSO" in back.text


def test_explicit_endpoints_work_without_discovery_and_logout_stays_local(
    sign_in, live_server, oidc_provider, oidc_settings
):
    oidc_settings.OIDC_DISCOVERY_URL = ""
    oidc_settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{oidc_provider}/oauth2/authorize"
    oidc_settings.OIDC_OP_TOKEN_ENDPOINT = f"{oidc_provider}/oauth2/token"
    oidc_settings.OIDC_OP_USER_ENDPOINT = f"{oidc_provider}/userinfo"
    oidc_settings.OIDC_OP_JWKS_ENDPOINT = f"{oidc_provider}/jwks"
    result = sign_in("alice@example.com", EDITOR)
    assert result.response.url == f"{live_server.url}/"

    csrf = result.browser.cookies.get("console_csrftoken")
    response = result.browser.post(
        f"{live_server.url}/logout/", headers={"X-CSRFToken": csrf}, allow_redirects=False, timeout=10
    )
    # No end-session endpoint configured or discovered: straight back to our sign-in page.
    assert response.headers["Location"] == f"{live_server.url}/login/"
    assert not signed_in(result.browser, live_server.url)


def expire_id_token(browser: requests.Session) -> None:
    store = session_store(browser.cookies.get("console_session"))
    store["oidc_id_token_expiration"] = 0
    store.save()


def test_after_the_refresh_interval_the_provider_is_asked_again(sign_in, live_server, oidc_provider):
    result = sign_in("alice@example.com", EDITOR)
    expire_id_token(result.browser)

    page = result.browser.get(f"{live_server.url}/", allow_redirects=False, timeout=10)
    assert page.status_code == 302
    target = urlparse(page.headers["Location"])
    assert f"{oidc_provider}/oauth2/authorize".endswith(target.path)
    assert parse_qs(target.query)["prompt"] == ["none"]

    fragment = result.browser.get(
        f"{live_server.url}/", headers={"HX-Request": "true"}, allow_redirects=False, timeout=10
    )
    # htmx can't follow a redirect to another site: it is told to move the whole page instead.
    assert fragment.status_code == 200 and fragment.headers["HX-Redirect"].startswith(
        f"{oidc_provider}/oauth2/authorize"
    )


def test_a_user_removed_from_the_groups_at_the_idp_loses_access_at_the_refresh(
    sign_in, live_server, oidc_provider
):
    result = sign_in("alice@example.com", EDITOR)
    idp_user(oidc_provider, "alice@example.com", ["console-users"])  # no longer in a role group
    expire_id_token(result.browser)

    # The silent re-check (prompt=none): this provider keeps no IdP session, so it answers
    # login_required, and the console signs Alice out and asks her to sign in again...
    page = result.browser.get(f"{live_server.url}/", timeout=10)
    assert page.url == f"{live_server.url}/login/" and "Please sign in again" in page.text
    assert not signed_in(result.browser, live_server.url)
    assert AuditRecord.objects.get(action="auth.sign_out").detail == (
        "the identity provider did not renew the session"
    )
    # ...where her new groups apply: she is refused.
    again = run_flow(result.browser, live_server.url, "alice@example.com")
    assert again.response.status_code == 403 and NO_ACCESS in again.response.text
    assert not signed_in(result.browser, live_server.url)


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_a_next_pointing_to_another_host_lands_on_home(sign_in, live_server, evil):
    result = sign_in("alice@example.com", EDITOR, next_url=evil)
    assert result.response.status_code == 200
    assert result.response.url == f"{live_server.url}/"


def test_a_next_on_this_site_is_followed_after_sign_in(sign_in, live_server):
    result = sign_in("alice@example.com", EDITOR, next_url="/tokens/")
    assert result.response.url == f"{live_server.url}/tokens/"


def test_the_sign_in_page_offers_the_provider_and_no_password_form(live_server, oidc_settings, settings):
    settings.DEMO_LOGIN_ENABLED = False
    page = requests.get(f"{live_server.url}/login/?next=/tokens/", timeout=10)
    assert page.status_code == 200
    assert (
        "Sign in with Example SSO" in page.text
        and 'href="/oidc/authenticate/?next=%2Ftokens%2F"' in page.text
    )
    assert 'type="password"' not in page.text
    posted = requests.post(f"{live_server.url}/login/", data={"username": "x", "password": "y"}, timeout=10)
    assert posted.status_code in (403, 405)  # CSRF or method: either way, no password path


def test_an_unreachable_provider_gives_a_clear_page_not_an_error(live_server, oidc_settings, closed_port):
    oidc_settings.OIDC_DISCOVERY_URL = f"http://127.0.0.1:{closed_port}/.well-known/openid-configuration"
    oidc_settings.OIDC_TIMEOUT = 1
    page = requests.get(f"{live_server.url}/oidc/authenticate/", timeout=10)
    assert page.status_code == 503
    assert "could not reach your company&#x27;s sign-in service" in page.text or (
        "could not reach your company's sign-in service" in page.text
    )


def test_a_provider_error_at_the_callback_is_recorded_and_explained(
    live_server, oidc_settings, oidc_provider
):
    browser = requests.Session()
    form = browser.get(f"{live_server.url}/oidc/authenticate/", timeout=10)
    denied = browser.post(form.url, data={"action": "deny"}, timeout=10)
    assert denied.url.startswith(f"{live_server.url}/login/")
    assert "Signing in did not complete" in denied.text
    assert "access_denied" in AuditRecord.objects.get(action="auth.refused").detail
    assert not signed_in(browser, live_server.url)


def test_oidc_routes_are_closed_when_oidc_is_off(live_server, settings):
    settings.OIDC_ENABLED = False
    assert requests.get(f"{live_server.url}/oidc/authenticate/", timeout=10).status_code == 404
    assert requests.get(f"{live_server.url}/oidc/callback/?code=x&state=y", timeout=10).status_code == 404


def test_a_replayed_callback_is_refused_with_a_clear_message(live_server, oidc_settings):
    browser = requests.Session()
    response = browser.get(f"{live_server.url}/oidc/authenticate/", timeout=10)
    state = parse_qs(urlparse(response.url).query)["state"][0]
    replay = browser.get(f"{live_server.url}/oidc/callback/?code=stolen&state=not-{state}", timeout=10)
    assert replay.url == f"{live_server.url}/login/" and "Signing in did not complete" in replay.text
    assert AuditRecord.objects.get(action="auth.refused").outcome == "rejected"
    assert not signed_in(browser, live_server.url)


def test_an_account_whose_username_is_taken_is_refused_not_an_error(sign_in):
    User.objects.create_user("gina@example.com", email="someone-else@example.com", role="viewer")
    result = sign_in("gina@example.com", EDITOR)
    assert result.response.status_code == 403
    assert "already uses this e-mail address" in AuditRecord.objects.get(action="auth.refused").detail


def test_development_offers_both_the_provider_and_the_demo_form(client, oidc_settings, settings):
    settings.DEMO_LOGIN_ENABLED = True
    page = client.get("/login/?next=https://evil.example/").content.decode()
    assert "Sign in with Example SSO" in page and 'type="password"' in page
    assert 'href="/oidc/authenticate/"' in page  # the foreign next is not passed on


def test_the_no_access_page_names_whom_to_ask(client, gate):
    page = client.get("/no-access/")
    assert page.status_code == 200
    assert f"You don't have access to Custom Metrics Console; ask {SUPPORT}" in page.content.decode()
