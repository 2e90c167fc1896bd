"""Sign-in fixtures: a real OpenID Connect provider on loopback, and the settings that point at it.

``oidc_provider``: the base URL of an ``oidc-provider-mock`` server (one per test session). Its
authorization step is an HTML form: the test posts the subject, and the provider answers with the
claims stored for that subject (``idp_user`` sets them, custom claims such as ``groups`` included).
``certified_provider``: panva's ``oidc-provider`` (OpenID Certified) as a Node process, with one
client and PKCE required; the mock accepts any client and never checks PKCE, this one does.
``idp``: the provider a test signs in with — the mock unless the test parametrizes it
(``@pytest.mark.parametrize("idp", BOTH, indirect=True)``).
``oidc_settings``: the console configured for that provider by discovery, with the role groups below.
``sign_in``: runs the whole authorization-code flow through ``live_server`` with ``requests``.
"""

import html
import json
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urljoin

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from metrics_ui.accounts import oidc as sso

CLIENT_ID = "custom-metrics-console"
CLIENT_SECRET = "client-secret-for-tests"
CERTIFIED_DIR = Path(__file__).parent / "certified_idp"
BOTH = ["mock", "certified"]
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def certified_provider(live_server, tmp_path_factory):
    """panva's oidc-provider on a free loopback port, for the console on ``live_server``."""
    if not (CERTIFIED_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"The certified provider is not installed: run `npm ci` in {CERTIFIED_DIR}")
    folder = tmp_path_factory.mktemp("certified-idp")
    claims_file, log_file = folder / "claims.json", folder / "provider.log"
    claims_file.write_text("{}")
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLAIMS_FILE": str(claims_file),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "CONSOLE_URL": live_server.url,
    }
    with log_file.open("w") as log:  # a file, not a pipe: a full pipe would stall the provider
        process = subprocess.Popen(
            ["node", "provider.mjs"], cwd=CERTIFIED_DIR, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    url = f"http://localhost:{port}"
    try:
        for _ in range(100):  # readiness, not a timing assertion
            if process.poll() is not None:
                pytest.fail(f"The certified provider stopped: {log_file.read_text()[-2000:]}")
            try:
                requests.get(f"{url}/.well-known/openid-configuration", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail(f"The certified provider did not answer: {log_file.read_text()[-2000:]}")
        yield CertifiedProvider(url, claims_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


def submit_form(browser: requests.Session, page: requests.Response, **fields) -> requests.Response:
    """Post the page's first form, with its hidden inputs and ``fields``, as its button does."""
    form = re.search(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", page.text, re.S)
    assert form, page.text[:500]
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    data.update(fields)
    return browser.post(urljoin(page.url, html.unescape(form.group(1))), data=data, timeout=10)


@dataclass
class MockProvider:
    """oidc-provider-mock: its authorization form takes the subject; no PKCE, any client."""

    url: str
    name: str = "mock"
    end_session_path: str = "/oauth2/end_session"

    def set_user(self, sub: str, claims: dict) -> None:
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def at_login(self, response: requests.Response) -> bool:
        return "/oauth2/authorize" in response.url

    def log_in(self, browser: requests.Session, form: requests.Response, sub: str) -> requests.Response:
        return browser.post(form.url, data={"sub": sub}, timeout=10)

    def confirm_logout(
        self, browser: requests.Session, page: requests.Response, back: str
    ) -> requests.Response:
        return browser.post(f"{self.url}/oauth2/end_session/confirm", data={"redirect_uri": back}, timeout=10)


@dataclass
class CertifiedProvider:
    """panva/oidc-provider: a login form (any login is the subject), then a consent page."""

    url: str
    claims_file: Path
    name: str = "certified"
    end_session_path: str = "/session/end"
    _claims: dict = field(default_factory=dict)

    def set_user(self, sub: str, claims: dict) -> None:
        self._claims[sub] = claims
        self.claims_file.write_text(json.dumps(self._claims))

    def at_login(self, response: requests.Response) -> bool:
        return "/interaction/" in response.url

    def log_in(self, browser: requests.Session, form: requests.Response, sub: str) -> requests.Response:
        response = submit_form(browser, form, login=sub, password="any")
        if "/interaction/" in response.url and 'name="prompt" value="consent"' in response.text:
            response = submit_form(browser, response)
        return response

    def confirm_logout(
        self, browser: requests.Session, page: requests.Response, back: str
    ) -> requests.Response:
        return submit_form(browser, page, logout="yes")


@pytest.fixture
def idp(request, oidc_provider):
    """The provider under test: the mock, or (parametrized) the certified provider."""
    if getattr(request, "param", "mock") == "certified":
        return request.getfixturevalue("certified_provider")
    return MockProvider(oidc_provider)


@pytest.fixture
def gate(settings):
    for name, value in GATE.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def oidc_settings(gate, idp):
    settings = gate
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_DISCOVERY_URL = f"{idp.url}/.well-known/openid-configuration"
    settings.OIDC_PROVIDER_NAME = "Example SSO"
    settings.AUTHENTICATION_BACKENDS = [OIDC_BACKEND, MODEL_BACKEND]
    sso.forget_discovery()
    yield settings
    sso.forget_discovery()


def idp_user(provider, email: str, groups: list[str] | None = None, *, sub: str = "", **claims) -> str:
    """Store (or change) what the provider says about ``sub`` (by default, ``email``); returns the
    subject to authorize. ``provider`` is an ``idp`` or the mock's base URL."""
    if isinstance(provider, str):
        provider = MockProvider(provider)
    body = {"email": email, **claims}
    if groups is not None:
        body["groups"] = groups
    sub = sub or email
    provider.set_user(sub, body)
    return sub


@dataclass
class SignIn:
    browser: requests.Session
    response: requests.Response  # the console's answer at the end of the flow
    session_cookie_before: str | None


def run_flow(
    browser: requests.Session, console: str, subject: str, next_url: str | None = None, provider=None
) -> SignIn:
    provider = provider or MockProvider("")
    start = f"{console}/oidc/authenticate/"
    if next_url is not None:
        start += "?" + urlencode({"next": next_url})
    form = browser.get(start, timeout=10)
    assert form.status_code == 200 and provider.at_login(form), form.text[:500]
    before = browser.cookies.get("console_session")
    # The provider's sign-in form: the subject, as a person would type or pick it.
    response = provider.log_in(browser, form, subject)
    return SignIn(browser, response, before)


@pytest.fixture
def sign_in(live_server, idp, oidc_settings):
    def flow(
        email: str, groups: list[str] | None, next_url: str | None = None, *, sub: str = "", **claims
    ) -> SignIn:
        subject = idp_user(idp, email, groups, sub=sub, **claims)
        return run_flow(requests.Session(), live_server.url, subject, next_url, provider=idp)

    return flow


@pytest.fixture
def closed_port() -> int:
    return free_port()


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
