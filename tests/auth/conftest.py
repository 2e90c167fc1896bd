"""Sign-in fixtures: a real OpenID Connect provider on loopback, and the settings that point at it.

``oidc_provider``: the base URL of an ``oidc-provider-mock`` server (one per test session). Its
authorization step is an HTML form: the test posts the subject, and the provider answers with the
claims stored for that subject (``idp_user`` sets them, custom claims such as ``groups`` included).
``oidc_settings``: the console configured for that provider by discovery, with the role groups below.
``sign_in``: runs the whole authorization-code flow through ``live_server`` with ``requests``.
"""

import socket
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from metrics_ui.accounts import oidc as sso

CLIENT_ID = "custom-metrics-console"
OIDC_BACKEND = "metrics_ui.accounts.oidc.OIDCBackend"
PROXY_BACKEND = "metrics_ui.accounts.proxy.ProxyHeaderBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SUPPORT = "the Metrics Platform team (#metrics-help)"

# The gate used throughout: an example.com address, in console-users, and one role group.
GATE = {
    "ALLOWED_EMAIL_DOMAINS": ["example.com"],
    "REQUIRED_GROUPS": ["console-users"],
    "ROLE_GROUPS_VIEWER": ["console-viewers"],
    "ROLE_GROUPS_EDITOR": ["console-editors"],
    "ROLE_GROUPS_ADMIN": ["console-admins"],
    "SUPPORT_CONTACT": SUPPORT,
}
VIEWER = ["console-users", "console-viewers"]
EDITOR = ["console-users", "console-editors"]
ADMIN = ["console-users", "console-admins"]


@pytest.fixture(scope="session")
def oidc_provider() -> str:
    with run_server_in_thread(port=0) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def gate(settings):
    for name, value in GATE.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def oidc_settings(gate, oidc_provider):
    settings = gate
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "client-secret-for-tests"
    settings.OIDC_DISCOVERY_URL = f"{oidc_provider}/.well-known/openid-configuration"
    settings.OIDC_PROVIDER_NAME = "Example SSO"
    settings.AUTHENTICATION_BACKENDS = [OIDC_BACKEND, MODEL_BACKEND]
    sso.forget_discovery()
    yield settings
    sso.forget_discovery()


def idp_user(provider: str, email: str, groups: list[str] | None = None, **claims) -> str:
    """Store (or change) what the provider says about ``email``; returns the subject to authorize."""
    body = {"email": email, **claims}
    if groups is not None:
        body["groups"] = groups
    requests.put(f"{provider}/users/{email}", json=body, timeout=5).raise_for_status()
    return email


@dataclass
class SignIn:
    browser: requests.Session
    response: requests.Response  # the console's answer at the end of the flow
    session_cookie_before: str | None


def run_flow(browser: requests.Session, console: str, subject: str, next_url: str | None = None) -> SignIn:
    start = f"{console}/oidc/authenticate/"
    if next_url is not None:
        start += "?" + urlencode({"next": next_url})
    form = browser.get(start, timeout=10)
    assert form.status_code == 200 and "/oauth2/authorize" in form.url, form.text[:500]
    before = browser.cookies.get("console_session")
    # The provider's authorization form: post the subject, as its "Authorize" button does.
    response = browser.post(form.url, data={"sub": subject}, timeout=10)
    return SignIn(browser, response, before)


@pytest.fixture
def sign_in(live_server, oidc_provider, oidc_settings):
    def flow(email: str, groups: list[str] | None, next_url: str | None = None, **claims) -> SignIn:
        subject = idp_user(oidc_provider, email, groups, **claims)
        return run_flow(requests.Session(), live_server.url, subject, next_url)

    return flow


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Refusal audits are de-duplicated through the cache; each test starts without that memory."""
    from django.core.cache import cache

    cache.clear()


def session_store(session_key: str | None = None):
    """A store of the configured engine (the database, or the database behind Redis)."""
    from importlib import import_module

    from django.conf import settings

    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def expire_idle(session_key: str) -> None:
    """Time travel past the idle limit: the stored expiry moves to the past. With the cached engine
    the cached copy goes too, as its time-to-live (the same idle limit) would have run out."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.utils import timezone

    Session.objects.filter(session_key=session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = session_store(session_key)
    if hasattr(store, "cache_key"):
        caches[settings.SESSION_CACHE_ALIAS].delete(store.cache_key)
