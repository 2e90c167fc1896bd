"""The liveness and readiness probes an orchestrator or load balancer polls."""

import pytest
import requests

from tests.ops.support import Gunicorn, clean_env, free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_sign_in_and_is_never_cached(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_reports_database_and_cache_reachable_and_nothing_else(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_probes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


@pytest.mark.slow
def test_readyz_turns_503_when_database_and_cache_are_down_while_healthz_stays_up(tmp_path):
    """With nothing listening where PostgreSQL and Redis should be, the instance leaves the rotation
    (503) but is not restarted (liveness still 200), and the answer names no host, port or error."""
    dead_db, dead_cache = free_port(), free_port()
    server = Gunicorn(
        clean_env(
            DATABASE_URL=f"postgres://console:pw-not-shown@127.0.0.1:{dead_db}/console",
            CACHE_URL=f"redis://127.0.0.1:{dead_cache}/0",
            LOG_FORMAT="json",  # its lines are read below, one JSON object each
        ),
        log_path=tmp_path / "gunicorn.log",
    )
    try:
        ready = requests.get(f"{server.url}/readyz", timeout=30)
        alive = requests.get(f"{server.url}/healthz", timeout=30)
    finally:
        server.stop()
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "cache": "unavailable"},
    }
    assert alive.status_code == 200
    # The operator finds the details in the log instead, with the failing check named.
    log = server.log()
    assert '"check": "database"' in log and '"check": "cache"' in log
    assert "pw-not-shown" not in log
