"""Fixtures for the sandbox's tests: a live sandbox with the seeded demo data, spoken to over HTTP."""

from dataclasses import dataclass

import pytest
import requests


@pytest.fixture(autouse=True)
def sandbox_only_urls(settings):
    """Route only the sandbox, mounted at /custom-metrics/ as in dashboard/urls.py."""
    settings.ROOT_URLCONF = "tests.sandbox.urls"


@dataclass
class Api:
    """The live sandbox as a client sees it: its base URL, the demo token and a requests session."""

    base: str
    token: str
    apps: list
    other_app: str
    http: requests.Session

    def url(self, app_id: str = "appID1", suffix: str = "") -> str:
        return f"{self.base}/api/v1/app/{app_id}/custom-metrics{suffix}"

    def auth(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, app_id: str = "appID1", suffix: str = "", **kwargs) -> requests.Response:
        kwargs.setdefault("headers", self.auth())
        return self.http.get(self.url(app_id, suffix), timeout=10, **kwargs)

    def post(self, body, app_id: str = "appID1", **kwargs) -> requests.Response:
        kwargs.setdefault("headers", self.auth())
        return self.http.post(self.url(app_id), json=body, timeout=10, **kwargs)

    def delete(self, name: str, app_id: str = "appID1", **kwargs) -> requests.Response:
        kwargs.setdefault("headers", self.auth())
        return self.http.delete(self.url(app_id, f"/{name}"), timeout=10, **kwargs)

    def names(self, app_id: str = "appID1") -> list[str]:
        response = self.get(app_id)
        assert response.status_code == 200, response.text
        return [m["name"] for m in response.json()["results"]]


@pytest.fixture
def api(live_server, seed) -> Api:
    with requests.Session() as http:
        yield Api(f"{live_server.url}/custom-metrics", seed["token"], seed["apps"], seed["other_app"], http)


@dataclass
class MetricsApi:
    """The live sandbox's Metrics API as a Prometheus client sees it, with the demo Metrics API token."""

    base: str
    token: str
    http: requests.Session

    def auth(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, endpoint: str, params: dict | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("headers", self.auth())
        return self.http.get(f"{self.base}/api/v1/{endpoint}", params=params, timeout=10, **kwargs)

    def data(self, endpoint: str, params: dict | None = None) -> object:
        """The ``data`` of a successful answer (the test fails with the error otherwise)."""
        response = self.get(endpoint, params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success"
        return body["data"]


@pytest.fixture
def metrics_api(live_server, seed) -> MetricsApi:
    with requests.Session() as http:
        yield MetricsApi(f"{live_server.url}/metrics", seed["metrics_api_token"], http)
