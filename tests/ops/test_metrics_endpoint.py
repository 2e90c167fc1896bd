"""/metrics: Prometheus exposition of the console's own requests, open only to allowed scrapers."""

import re

import pytest
import requests
from django.test import override_settings

from tests.ops.support import Gunicorn, clean_env

pytestmark = pytest.mark.django_db

SCRAPER_TOKEN = "scrape-me-0123456789abcdef"


def _sample(text: str, name: str, **labels: str) -> float:
    """The sum of the series of ``name`` whose labels include ``labels`` (0 when there are none): earlier
    tests in the same process may already have filled series with other label values."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.rindex("}") + 1]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_requests_are_counted_by_url_name_not_by_raw_path(client, django_user_model):
    """Two different app ids are one series: the label is the URL's name, so series stay few."""
    user = django_user_model.objects.create_user("viewer", role="viewer")
    client.force_login(user)
    before = client.get("/metrics").content.decode()
    client.get("/apps/appOne/")
    client.get("/apps/appTwo/")
    client.get("/no/such/page/")
    after = client.get("/metrics").content.decode()

    def delta(**labels):
        return _sample(after, "console_http_requests_total", **labels) - _sample(
            before, "console_http_requests_total", **labels
        )

    assert delta(method="GET", view="metric_list") == 2
    assert delta(method="GET", view="unmatched", status="404") == 1
    assert "appOne" not in after and "appTwo" not in after and "/no/such/page" not in after
    assert _sample(after, "console_http_request_seconds_count", method="GET", view="metric_list") >= 2
    assert "# TYPE console_http_request_seconds histogram" in after


def test_development_lets_only_loopback_scrape_without_configuration(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 404


@override_settings(PRODUCTION=True, METRICS_BEARER_TOKEN="", METRICS_ALLOWED_NETWORKS=[])
def test_production_without_configuration_keeps_metrics_closed_even_to_loopback(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 404
    assert b"console_http" not in response.content


@override_settings(PRODUCTION=True, METRICS_BEARER_TOKEN=SCRAPER_TOKEN, METRICS_ALLOWED_NETWORKS=[])
def test_the_bearer_token_opens_metrics_and_nothing_else_does(client):
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}", REMOTE_ADDR="192.0.2.10")
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}x").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {SCRAPER_TOKEN}").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


@override_settings(
    PRODUCTION=True, METRICS_BEARER_TOKEN="", METRICS_ALLOWED_NETWORKS=["10.0.0.0/8", "2001:db8::/32"]
)
def test_the_network_allowlist_opens_metrics_to_those_addresses_only(client):
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.10").status_code == 404
    # A forwarded header is not the connection's address: it cannot open the endpoint.
    forged = client.get("/metrics", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert forged.status_code == 404


@pytest.mark.slow
def test_one_scrape_adds_up_every_gunicorn_worker(tmp_path):
    """Under gunicorn with two workers, whichever worker answers the scrape reports all requests."""
    server = Gunicorn(clean_env(), workers=2, log_path=tmp_path / "gunicorn.log")
    try:
        before = requests.get(f"{server.url}/metrics", timeout=30).text
        for _ in range(40):
            # A new connection each time, so the requests spread over both workers.
            assert requests.get(f"{server.url}/healthz", timeout=30, headers={"Connection": "close"}).ok
        after = requests.get(f"{server.url}/metrics", timeout=30).text
    finally:
        server.stop()
    labels = {"method": "GET", "view": "healthz", "status": "200"}
    counted = _sample(after, "console_http_requests_total", **labels) - _sample(
        before, "console_http_requests_total", **labels
    )
    assert counted == 40
