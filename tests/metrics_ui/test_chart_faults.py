"""Every upstream fault while loading a chart gives the usual banner (message, reference, retry), never a 500.

The Metrics API is the fault server from ``tests/faults.py`` (real sockets), or a closed port."""

from html import unescape

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from metrics_ui.models import ApiToken, User
from tests.faults import Hang, Reset, Respond, big_json, html

KEY = Fernet.generate_key().decode()
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "div#chart-area"}
MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": []}}


@pytest.fixture
def viewer_client(client, db, settings, fast_upstream_settings):
    settings.EMBRACE_TOKEN_KEYS = [KEY]
    user = User.objects.create_user("viewer", role=User.Role.VIEWER)
    custom = ApiToken(user=user, label="Apps", region="sandbox")
    custom.set_token("custom-token-1234")
    custom.save()
    custom.set_apps(["appID1"])
    metrics = ApiToken(user=user, label="Charts", region="sandbox", kind=ApiToken.Kind.METRICS_API)
    metrics.set_token("metrics-api-token-5678")
    metrics.save()
    client.force_login(user)
    return client


def load_chart(client):
    return client.get(reverse("metric_chart", args=["appID1", "sessions_total_v1"]), {"range": "24h"}, **HX)


def text(response) -> str:
    return unescape(response.content.decode())


FAULTS = {
    "server error 500": Respond(500, {"status": "error", "errorType": "internal", "error": "boom"}),
    "overloaded 503": Respond(503, html()),
    "busy 429": Respond(429, "", headers={"Retry-After": "120"}),
    "not JSON": Respond(200, html("OK")),
    "wrong shape": Respond(200, {"status": "success", "data": {"resultType": "vector", "result": []}}),
    "error envelope on 200": Respond(200, {"status": "error", "errorType": "bad_data", "error": "x"}),
    "bad point": Respond(
        200, {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}}]}}
    ),
    "bad_data 400": Respond(
        400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    ),
    "execution 422": Respond(422, {"status": "error", "errorType": "execution", "error": "duplicate series"}),
    "refused token 401": Respond(401, {"status": "error", "errorType": "unauthorized", "error": "bad token"}),
    "wrong address 404": Respond(404, html("Not Found")),
    "redirect": Respond(302, "", headers={"Location": "http://127.0.0.1:9/elsewhere"}),
    "too large": Respond(200, big_json(2048)),
    "reset before answering": Reset(),
    "reset mid-body": Reset(body=MATRIX),
    "timeout": Hang(),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_each_metrics_api_fault_gives_a_banner_not_a_500(viewer_client, fault_upstream, settings, fault):
    settings.SANDBOX_METRICS_API_URL = fault_upstream.url
    settings.UPSTREAM_MAX_RESPONSE_BYTES = 1024
    fault_upstream.script([fault] * 4)
    response = load_chart(viewer_client)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="upstream-error" role="alert"' in page
    assert "Try again" in page and "reference" in page
    assert "metrics-api-token-5678" not in page


def test_a_refused_connection_gives_a_banner(viewer_client, closed_port_url, settings):
    settings.SANDBOX_METRICS_API_URL = closed_port_url.replace("/custom-metrics", "/metrics")
    page = text(load_chart(viewer_client))
    assert "Can't reach Embrace right now" in page


def test_a_refused_metrics_api_token_points_to_the_tokens_page(viewer_client, fault_upstream, settings):
    settings.SANDBOX_METRICS_API_URL = fault_upstream.url
    fault_upstream.respond(401, {"status": "error", "errorType": "unauthorized", "error": "no"})
    page = text(load_chart(viewer_client))
    assert "Your Metrics API token was refused" in page
    assert f'href="{reverse("token_list")}"' in page


def test_prometheus_errors_are_put_in_plain_words(viewer_client, fault_upstream, settings):
    settings.SANDBOX_METRICS_API_URL = fault_upstream.url
    fault_upstream.respond(422, {"status": "error", "errorType": "execution", "error": "duplicate series"})
    page = text(load_chart(viewer_client))
    assert "Embrace couldn't compute the chart: duplicate series" in page


def test_a_failing_metrics_api_never_breaks_the_metric_page_itself(viewer_client, fault_upstream, settings):
    """The page asks the Custom Metrics API (answering normally here) and leaves the chart to htmx."""
    settings.SANDBOX_METRICS_API_URL = "http://127.0.0.1:9/metrics"
    metric = {
        "custom_metric_id": "1",
        "app_id": "appID1",
        "name": "sessions_total_v1",
        "metric": "sessions_total",
    }
    fault_upstream.json({"results": [metric]})
    response = viewer_client.get(reverse("metric_detail", args=["appID1", "sessions_total_v1"]))
    assert response.status_code == 200
    assert 'hx-trigger="load"' in response.content.decode()
    inline = viewer_client.get(reverse("metric_detail", args=["appID1", "sessions_total_v1"]), {"chart": "1"})
    assert inline.status_code == 200 and 'class="upstream-error"' in inline.content.decode()
