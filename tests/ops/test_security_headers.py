"""Every kind of response carries the production security headers and the strict CSP.

The security settings are read from a real production-mode process (so the test checks what
``CONSOLE_MODE=production`` really configures) and applied here; requests are made as over HTTPS.
"""

import re

import pytest
from django.test import Client

from metrics_ui.models import ApiToken
from tests.ops.support import production_env, settings_in

pytestmark = pytest.mark.django_db

SECURITY_SETTINGS = (
    "DEBUG",
    "SECURE_CSP",
    "SECURE_CSP_REPORT_ONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_NAME",
    "CSRF_COOKIE_SECURE",
)


@pytest.fixture(scope="module")
def production_security() -> dict:
    return settings_in(production_env(), *SECURITY_SETTINGS)


@pytest.fixture
def prod(settings, production_security):
    for name, value in production_security.items():
        setattr(settings, name, value)
    # Nothing listens there: list pages show their "Embrace is unavailable" banner at once.
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/custom-metrics"
    settings.UPSTREAM_READ_RETRIES = 0
    return settings


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer@example.com", role="viewer")
    token = ApiToken(user=user, label="Sandbox", region="sandbox")
    token.set_token("0123456789abcdef0123456789abcdef")
    token.save()
    token.set_apps(["appID1"])
    return user


def _directives(header: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in header.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def assert_secure_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy")
    assert csp, f"no CSP on a {response.status_code} response"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "unsafe-hashes" not in csp
    directives = _directives(csp)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert "*" not in " ".join(directives["script-src"] + directives["style-src"])
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    assert "includeSubDomains" in hsts
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", response.headers["X-Request-ID"])


def assert_no_inline_code(response) -> None:
    """What the browser would block: scripts and styles without the nonce, inline handlers, style="" ."""
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        assert nonce and f'nonce="{nonce.group(1)}"' in tag, f"element without this response's nonce: {tag}"
    assert not re.search(r"<[^>]+\sstyle\s*=", html), "a style attribute (blocked by the CSP)"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "an inline event handler (blocked by the CSP)"
    assert "javascript:" not in html


def test_a_signed_in_page_is_protected_and_its_session_cookie_is_host_only_secure(prod, client, viewer):
    client.force_login(viewer)
    response = client.get("/", secure=True)
    assert response.status_code == 200
    assert_secure_headers(response)
    assert_no_inline_code(response)
    cookie = response.cookies[prod.SESSION_COOKIE_NAME]
    assert prod.SESSION_COOKIE_NAME.startswith("__Host-")
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["domain"]


def test_a_page_and_its_htmx_fragment_carry_the_same_protection(prod, client, viewer):
    client.force_login(viewer)
    page = client.get("/apps/appID1/", secure=True)
    fragment = client.get(
        "/apps/appID1/?sort=name", secure=True, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="div#metric-table"
    )
    assert page.status_code == 200 and fragment.status_code == 200
    assert b"<html" in page.content and b"<html" not in fragment.content
    for response in (page, fragment):
        assert_secure_headers(response)
        assert_no_inline_code(response)


def test_forbidden_and_not_found_pages_are_protected(prod, client, viewer):
    client.force_login(viewer)
    forbidden = client.get("/apps/appID1/metrics/sessions_total_v1/delete/", secure=True)
    missing = client.get("/no/such/page/", secure=True)
    assert forbidden.status_code == 403
    assert missing.status_code == 404
    for response in (forbidden, missing):
        assert_secure_headers(response)
        assert_no_inline_code(response)


def test_a_refused_csrf_check_is_protected(prod, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post("/logout/", secure=True)
    assert response.status_code == 403
    assert_secure_headers(response)


def test_the_500_page_is_protected_and_reveals_nothing(prod, client):
    prod.ROOT_URLCONF = "tests.ops.urls_boom"
    client.raise_request_exception = False
    response = client.get("/boom/", secure=True)
    assert response.status_code == 500
    assert_secure_headers(response)
    assert_no_inline_code(response)
    body = response.content.decode()
    assert "Traceback" not in body and "should-not-show" not in body and "RuntimeError" not in body
    # The person can quote the reference; the operator finds the details in the log under it.
    assert response.headers["X-Request-ID"] in body


def test_plain_http_is_sent_to_https_except_for_probes(prod, client):
    redirect = client.get("/")
    assert redirect.status_code == 301
    assert redirect["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
