"""The logs of a whole working session, at DEBUG level, hold no secret and one id per request.

The flow runs over real HTTP against the live server (console and sandbox), and the logs are
captured from the real JSON handler configured in settings, so filters and formatting are the
production ones.
"""

import json
import re

import pytest
import requests
from django.contrib.sessions.models import Session

PASSWORD = "correct-horse-battery-staple-42"
METRIC = "log_scan_sessions_total"


class Browser:
    """A requests session that remembers every cookie and CSRF token the server hands out."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.seen: set[str] = set()

    def _remember(self, response: requests.Response) -> requests.Response:
        for cookie in self.session.cookies:
            self.seen.add(cookie.value)
        for page in [response, *response.history]:
            self.seen.update(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text))
            self.seen.update(re.findall(r'"X-CSRFToken": "([^"]+)"', page.text))
        return response

    def csrf(self) -> str:
        return self.session.cookies["console_csrftoken"]

    def get(self, path: str, **kwargs) -> requests.Response:
        return self._remember(self.session.get(self.base_url + path, timeout=60, **kwargs))

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        data = {"csrfmiddlewaretoken": self.csrf(), **data}
        return self._remember(self.session.post(self.base_url + path, data=data, timeout=60, **kwargs))


@pytest.mark.slow
def test_a_full_session_at_debug_level_logs_no_token_cookie_or_csrf_token(
    live_server, sandbox_url, seed, settings, django_user_model, captured_logs
):
    """Sign in, add a token, list, create, delete, delete again (upstream 404), then an upstream
    outage: the JSON log lines cover each step, yet none contains the Embrace token (bare or as
    ``Bearer``), a session cookie or key, a CSRF token or the password."""
    django_user_model.objects.create_user("editor@example.com", password=PASSWORD, role="editor")
    browser = Browser(live_server.url)

    browser.get("/login/")
    signed_in = browser.post("/login/", {"username": "editor@example.com", "password": PASSWORD})
    assert signed_in.url.rstrip("/") == live_server.url, "sign-in did not land on the home page"

    added = browser.post(
        "/tokens/",
        {"label": "Sandbox", "region": "sandbox", "token": seed["token"], "app_ids": "appID1"},
    )
    assert added.ok and "appID1" in browser.get("/").text

    listed = browser.get("/apps/appID1/")
    assert listed.status_code == 200

    browser.get("/apps/appID1/metrics/new/")
    created = browser.post(
        "/apps/appID1/metrics/new/",
        {
            "action": "create",
            "name": METRIC,
            "metric": "sessions_total",
            "built_for": "sessions_total",
            "time_granularity": "hourly",
            "data_destination": "metrics_api",
            "filters": "",
        },
    )
    assert created.status_code == 200
    assert METRIC in browser.get("/apps/appID1/").text, "the metric was not created"

    deleted = browser.post(f"/apps/appID1/metrics/{METRIC}/delete/", {"confirm_name": METRIC})
    assert deleted.status_code == 200
    assert METRIC not in browser.get("/apps/appID1/").text, "the metric was not deleted"
    # Deleting it again: the sandbox answers 404, an upstream error response.
    browser.post(f"/apps/appID1/metrics/{METRIC}/delete/", {"confirm_name": METRIC})
    # An outage: nothing listens at the upstream address any more.
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9/custom-metrics"
    settings.UPSTREAM_READ_RETRIES = 0
    outage = browser.get("/apps/appID1/")
    assert outage.status_code == 200

    output = captured_logs.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]

    # The capture is real: every step left its lines, including DEBUG lines from urllib3.
    access = [line for line in lines if line["logger"] == "metrics_ui.access"]
    assert {("POST", "/login/"), ("POST", "/tokens/"), ("GET", "/apps/appID1/")} <= {
        (line["method"], line["path"]) for line in access
    }
    assert {("POST", "/apps/appID1/metrics/new/"), ("POST", f"/apps/appID1/metrics/{METRIC}/delete/")} <= {
        (line["method"], line["path"]) for line in access
    }
    assert any(line["logger"] == "metrics_ui.upstream" for line in lines)
    assert any(line["logger"].startswith("urllib3") and line["level"] == "DEBUG" for line in lines)
    assert all(line["request_id"] for line in access)

    secrets = {
        seed["token"],
        f"Bearer {seed['token']}",
        PASSWORD,
        *browser.seen,
        *Session.objects.values_list("session_key", flat=True),
    }
    secrets.discard("")
    assert len(secrets) >= 5, "the flow should have produced a session, CSRF tokens and the token"
    leaked = sorted(secret for secret in secrets if secret in output)
    assert not leaked, f"{len(leaked)} secret value(s) found in the logs"
    assert not re.search(r"(?i)bearer\s+(?!\[redacted\])\S", output)
