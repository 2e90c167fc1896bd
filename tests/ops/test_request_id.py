"""Request ids: one per request, taken from a well-formed header sent by a trusted proxy, carried to the
upstream."""

import json

import pytest
import requests

from metrics_ui.models import ApiToken

PROXY = "10.0.0.5"


def _lines(captured) -> list[dict]:
    return [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]


@pytest.fixture
def behind_proxy(settings):
    """The proxy networks the trusted-proxy sign-in reads; the request id trusts the same ones."""
    settings.PROXY_AUTH_TRUSTED_PROXIES = [f"{PROXY}/32"]
    return settings


@pytest.mark.django_db
def test_a_well_formed_id_from_the_trusted_proxy_is_kept_echoed_and_logged(
    client, captured_logs, behind_proxy
):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-0123456789abcdef", REMOTE_ADDR=PROXY)
    assert response["X-Request-ID"] == "lb-0123456789abcdef"
    access = [line for line in _lines(captured_logs) if line["logger"] == "metrics_ui.access"]
    assert [line["request_id"] for line in access] == ["lb-0123456789abcdef"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "incoming",
    [
        "abc\nFAKE LOG LINE",
        "short",
        "x" * 65,
        "id with spaces 1234",
        "../../etc",
        "dotted.id.12345678",
        "under_scored_12345678",
        "quote'd-12345678",
    ],
)
def test_a_malformed_id_even_from_the_trusted_proxy_is_replaced_and_never_logged(
    client, captured_logs, behind_proxy, incoming
):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming, REMOTE_ADDR=PROXY)
    replaced = response["X-Request-ID"]
    assert replaced != incoming and len(replaced) == 32
    output = captured_logs.getvalue()
    assert "FAKE LOG LINE" not in output and incoming not in output
    assert all(line["request_id"] == replaced for line in _lines(captured_logs))


@pytest.mark.django_db
@pytest.mark.parametrize("remote", ["203.0.113.9", "127.0.0.1"], ids=["elsewhere", "loopback"])
def test_an_id_from_an_address_that_is_not_a_trusted_proxy_is_replaced(
    client, captured_logs, behind_proxy, remote
):
    """A person can't choose the id their request (or, by reusing one, someone else's) is logged under."""
    response = client.get(
        "/healthz",
        HTTP_X_REQUEST_ID="chosen-by-the-client-1234",
        HTTP_X_FORWARDED_FOR=PROXY,
        REMOTE_ADDR=remote,
    )
    replaced = response["X-Request-ID"]
    assert replaced != "chosen-by-the-client-1234" and len(replaced) == 32
    assert "chosen-by-the-client-1234" not in captured_logs.getvalue()


@pytest.mark.django_db
def test_without_trusted_proxies_every_incoming_id_is_replaced(client, settings):
    settings.PROXY_AUTH_TRUSTED_PROXIES = []
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-0123456789abcdef")
    assert response["X-Request-ID"] != "lb-0123456789abcdef"


def test_the_access_line_has_method_path_status_duration_user_and_view(admin_client, captured_logs):
    admin_client.get("/tokens/?token=not-for-logs")
    line = next(line for line in _lines(captured_logs) if line["logger"] == "metrics_ui.access")
    assert line["method"] == "GET" and line["path"] == "/tokens/" and line["status"] == 200
    assert line["view"] == "token_list" and isinstance(line["duration_ms"], float)
    assert line["user_id"] is not None and line["level"] == "INFO"
    # The query string is never logged: it can hold anything a person or a link put there.
    assert "not-for-logs" not in captured_logs.getvalue()


def test_the_request_id_reaches_the_upstream_and_its_log_lines(
    live_server, sandbox_url, seed, django_user_model, client, captured_logs, settings
):
    """A list page's upstream call carries the page's request id: the console's upstream line and
    the sandbox's own access line (it is another HTTP request) both show it."""
    settings.PROXY_AUTH_TRUSTED_PROXIES = ["127.0.0.1/32"]  # the test's requests stand in for the proxy
    user = django_user_model.objects.create_user("viewer@example.com", role="viewer")
    token = ApiToken(user=user, label="Sandbox", region="sandbox")
    token.set_token(seed["token"])
    token.save()
    token.set_apps(["appID1"])
    session = requests.Session()
    client.force_login(user)
    session.cookies.set("console_session", client.cookies["console_session"].value)

    page = session.get(f"{live_server.url}/apps/appID1/", headers={"X-Request-ID": "trace-me-12345678"})
    assert page.status_code == 200 and page.headers["X-Request-ID"] == "trace-me-12345678"
    lines = [line for line in _lines(captured_logs) if line.get("request_id") == "trace-me-12345678"]
    loggers_paths = {(line["logger"], line.get("path")) for line in lines}
    assert ("metrics_ui.access", "/apps/appID1/") in loggers_paths
    assert ("metrics_ui.access", "/custom-metrics/api/v1/app/appID1/custom-metrics") in loggers_paths
    assert any(logger == "metrics_ui.upstream" for logger, _ in loggers_paths)
