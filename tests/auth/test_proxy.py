"""Trusted reverse-proxy mode (oauth2-proxy and friends): headers count only from the proxy's
address and only when not empty; roles map from the groups header like from OIDC groups.
Table-driven, like Grafana's auth-proxy tests."""

import http.client
from urllib.parse import urlparse

import pytest

from metrics_ui.models import AuditRecord, User
from tests.auth.conftest import EDITOR, MODEL_BACKEND, PROXY_BACKEND, SUPPORT, VIEWER

PROXY = "10.0.0.5"
USER_HEADER = "HTTP_X_FORWARDED_EMAIL"
GROUPS_HEADER = "HTTP_X_FORWARDED_GROUPS"


@pytest.fixture
def proxy_settings(gate):
    gate.PROXY_AUTH_ENABLED = True
    gate.PROXY_AUTH_TRUSTED_PROXIES = [f"{PROXY}/32", "fd00::/64"]
    gate.AUTHENTICATION_BACKENDS = [PROXY_BACKEND, MODEL_BACKEND]
    return gate


def headers(remote: str, email: str | None, groups: str | None = ",".join(EDITOR), **more) -> dict:
    meta = {"REMOTE_ADDR": remote, **more}
    if email is not None:
        meta[USER_HEADER] = email
    if groups is not None:
        meta[GROUPS_HEADER] = groups
    return meta


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("meta", "expected_status", "expected_user"),
    [
        (headers(PROXY, "alice@example.com"), 200, "alice@example.com"),
        (headers("fd00::7", "alice@example.com"), 200, "alice@example.com"),
        (headers(PROXY, "accounts.google.com:alice@example.com"), 200, "alice@example.com"),  # Google IAP
        (headers("203.0.113.9", "alice@example.com"), 302, None),  # not a trusted proxy
        (headers("127.0.0.1", "alice@example.com"), 302, None),  # loopback is not trusted either
        (headers("203.0.113.9", "alice@example.com", HTTP_X_FORWARDED_FOR=PROXY), 302, None),  # forged hop
        (headers(PROXY, ""), 302, None),  # empty header
        (headers(PROXY, "   "), 302, None),  # blank header
        (headers(PROXY, None), 302, None),  # no header
        (headers(PROXY, "alice@example.com", groups=None), 403, None),  # no groups: refused
        (headers(PROXY, "alice@example.com", groups=""), 403, None),  # empty groups: refused
        (headers(PROXY, "alice@example.com", groups="console-users"), 403, None),  # no role group
        (headers(PROXY, "mallory@evil.example"), 403, None),  # wrong domain
        (headers(PROXY, "not-an-email"), 403, None),
    ],
    ids=[
        "trusted-proxy",
        "trusted-ipv6-network",
        "iap-prefix",
        "untrusted-address",
        "loopback-untrusted",
        "forged-x-forwarded-for",
        "empty-user",
        "blank-user",
        "missing-user",
        "missing-groups",
        "empty-groups",
        "no-role-group",
        "wrong-domain",
        "not-an-email",
    ],
)
def test_proxy_headers_are_honoured_only_from_the_proxy_and_only_when_complete(
    client, proxy_settings, meta, expected_status, expected_user
):
    response = client.get("/", **meta)
    assert response.status_code == expected_status
    if expected_status == 302:
        assert response["Location"].startswith("/login/")
    if expected_status == 403:
        assert f"You don't have access to Custom Metrics Console; ask {SUPPORT}" in response.content.decode(
            "utf-8"
        ).replace("&#x27;", "'")
    signed_in = list(User.objects.values_list("email", flat=True))
    assert signed_in == ([expected_user] if expected_user else [])


@pytest.mark.django_db
def test_untrusted_headers_are_logged_as_a_security_event(client, proxy_settings, caplog):
    client.get("/", **headers("203.0.113.9", "alice@example.com"))
    assert any(
        r.name == "metrics_ui.security" and "not a trusted proxy" in r.getMessage() for r in caplog.records
    )


@pytest.mark.django_db
def test_the_proxy_mode_is_off_unless_enabled(client, gate):
    gate.PROXY_AUTH_TRUSTED_PROXIES = [f"{PROXY}/32"]
    gate.AUTHENTICATION_BACKENDS = [PROXY_BACKEND, MODEL_BACKEND]
    gate.PROXY_AUTH_ENABLED = False
    assert client.get("/", **headers(PROXY, "alice@example.com")).status_code == 302
    assert not User.objects.exists()


@pytest.mark.django_db
def test_custom_header_names_are_used(client, proxy_settings):
    proxy_settings.PROXY_AUTH_USER_HEADER = "Cf-Access-Authenticated-User-Email"
    proxy_settings.PROXY_AUTH_GROUPS_HEADER = "X-Pomerium-Claim-Groups"
    meta = {
        "REMOTE_ADDR": PROXY,
        "HTTP_CF_ACCESS_AUTHENTICATED_USER_EMAIL": "alice@example.com",
        "HTTP_X_POMERIUM_CLAIM_GROUPS": ",".join(EDITOR),
    }
    assert client.get("/", **meta).status_code == 200
    # The default header is no longer read.
    client.logout()
    assert client.get("/", **headers(PROXY, "bob@example.com")).status_code == 302


@pytest.mark.django_db
def test_the_role_follows_the_groups_header_on_every_request(client, proxy_settings):
    assert client.get("/", **headers(PROXY, "alice@example.com", ",".join(EDITOR))).status_code == 200
    assert User.objects.get().role == "editor"
    assert client.get("/audit/", **headers(PROXY, "alice@example.com", ",".join(EDITOR))).status_code == 200
    # The proxy now says Alice is a viewer: demoted at once, on the same session.
    assert client.get("/audit/", **headers(PROXY, "alice@example.com", ",".join(VIEWER))).status_code == 403
    assert User.objects.get().role == "viewer"
    # And with no role group at all: refused, and the session ends.
    assert client.get("/", **headers(PROXY, "alice@example.com", "console-users")).status_code == 403
    assert client.get("/", REMOTE_ADDR=PROXY).status_code == 302


@pytest.mark.django_db
def test_a_session_from_the_proxy_ends_when_the_proxy_stops_vouching(client, proxy_settings):
    assert client.get("/", **headers(PROXY, "alice@example.com")).status_code == 200
    assert client.get("/", REMOTE_ADDR=PROXY).status_code == 302
    assert AuditRecord.objects.filter(action="auth.sign_out").get().detail == (
        "the trusted proxy stopped sending the user header"
    )


@pytest.mark.django_db
def test_another_user_named_by_the_proxy_replaces_the_session(client, proxy_settings):
    client.get("/", **headers(PROXY, "alice@example.com"))
    first_key = client.session.session_key
    client.get("/", **headers(PROXY, "bob@example.com"))
    assert client.session["_auth_user_id"] == str(User.objects.get(email="bob@example.com").pk)
    assert client.session.session_key != first_key


@pytest.mark.django_db
def test_a_deactivated_user_is_refused_by_the_proxy_mode(client, proxy_settings):
    User.objects.create_user("alice@example.com", email="alice@example.com", role="editor", is_active=False)
    response = client.get("/", **headers(PROXY, "alice@example.com"))
    assert response.status_code == 403


@pytest.mark.django_db
def test_refusals_are_audited_once_not_on_every_request(client, proxy_settings):
    for _ in range(3):
        client.get("/", **headers(PROXY, "mallory@evil.example"))
    refused = AuditRecord.objects.filter(action="auth.refused")
    assert refused.count() == 1 and refused.get().username == "mallory@evil.example"


@pytest.mark.django_db
def test_probes_and_the_sandbox_ignore_the_proxy_headers(client, proxy_settings):
    client.get("/healthz", **headers(PROXY, "alice@example.com"))
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_audit_trail_records_the_person_behind_the_proxy(client, proxy_settings):
    client.get("/", **headers(PROXY, "alice@example.com", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.5"))
    assert AuditRecord.objects.get(action="auth.sign_in").source_ip == "198.51.100.7"


def raw_get(url: str, header_lines: list[tuple[str, str]]) -> http.client.HTTPResponse:
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("GET", parts.path or "/")
    for name, value in header_lines:
        connection.putheader(name, value)
    connection.endheaders()
    return connection.getresponse()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("user_header", "expected_status"),
    [("X-Forwarded-Email", 200), ("X_Forwarded_Email", 302), ("x_forwarded_email", 302)],
    ids=["real-header", "underscore-spoof", "lowercase-underscore-spoof"],
)
def test_an_underscore_variant_of_the_header_is_dropped_by_the_server(
    live_server, proxy_settings, user_header, expected_status
):
    """Over real HTTP from a trusted address: a proxy that strips ``X-Forwarded-Email`` may still pass
    ``X_Forwarded_Email`` through, which WSGI would map to the same key. The server drops it."""
    proxy_settings.PROXY_AUTH_TRUSTED_PROXIES = ["127.0.0.1/32"]
    response = raw_get(
        live_server.url + "/", [(user_header, "alice@example.com"), ("X-Forwarded-Groups", ",".join(EDITOR))]
    )
    assert response.status == expected_status
    assert User.objects.filter(email="alice@example.com").exists() == (expected_status == 200)


@pytest.mark.django_db
@pytest.mark.filterwarnings("error::django.core.cache.backends.base.CacheKeyWarning")
def test_a_refusal_with_hostile_header_text_is_remembered_under_a_key_any_cache_accepts(
    client, proxy_settings
):
    """The refusal is remembered (so audited once) under a key memcached would accept: the header's
    spaces, quotes and control-like text never reach the cache key, so no CacheKeyWarning is raised."""
    hostile = 'mallory "the admin" <x@evil.example>' + " padding" * 40
    for _ in range(2):
        response = client.get("/", **headers(PROXY, hostile))
        assert response.status_code == 403
    assert AuditRecord.objects.filter(action="auth.refused").count() == 1
