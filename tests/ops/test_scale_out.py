"""Instances are interchangeable: two gunicorn instances share one PostgreSQL database and one Redis.

This is the deployment "several instances behind a load balancer", on one machine: a person signs
in through instance A and carries on through instance B; what A creates, B lists; when A is
stopped in the middle of the traffic, no request fails and B keeps serving.

The sandbox lives in the shared database, and ``SANDBOX_BASE_URL`` points both instances at B's
sandbox (the one that stays up), so the upstream itself never goes away during the test.
"""

import re
import threading
import time
import uuid

import psycopg
import pytest
import redis
import requests
from cryptography.fernet import Fernet
from django.conf import settings as django_settings

from tests.ops.support import Gunicorn, clean_env, free_port, prepare_database

pytestmark = pytest.mark.slow

POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/7"


@pytest.fixture
def shared_services(request):
    """A fresh PostgreSQL database and a Redis key prefix, dropped and deleted afterwards."""
    name = f"console_scaleout_{uuid.uuid4().hex[:8]}"
    prefix = f"scaleout-{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL must run at 127.0.0.1:5432 for this test (bin/services starts it): {error}")
    admin.execute(f'CREATE DATABASE "{name}"')
    cache = redis.Redis.from_url(REDIS)
    cache.ping()
    try:
        yield {"DATABASE_URL": f"{POSTGRES}/{name}", "CACHE_URL": f"{REDIS}?key_prefix={prefix}"}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        for key in cache.scan_iter(f"{prefix}:*"):
            cache.delete(key)
        cache.close()


def _signed_in(page: requests.Response) -> bool:
    return page.status_code == 200 and "Sign out demo" in page.text


def _post(session: requests.Session, url: str, data: dict) -> requests.Response:
    token = session.cookies["console_csrftoken"]
    return session.post(url, data={"csrfmiddlewaretoken": token, **data}, timeout=60)


def test_two_instances_share_sessions_and_data_and_survive_losing_one(shared_services, tmp_path, request):
    port_b = free_port()
    env = clean_env(
        **shared_services,
        DEBUG="false",
        LOG_FORMAT="json",
        SANDBOX_ENABLED="true",
        SANDBOX_BASE_URL=f"http://127.0.0.1:{port_b}/custom-metrics",
        # What makes instances interchangeable: the same secrets everywhere.
        SECRET_KEY=Fernet.generate_key().decode() * 2,
        EMBRACE_TOKEN_KEYS=Fernet.generate_key().decode(),
    )
    prepared = prepare_database(env, request, "demo_setup")
    assert prepared.returncode == 0, prepared.stderr

    b = Gunicorn(env, workers=2, port=port_b, log_path=tmp_path / "b.log")
    a = Gunicorn(env, workers=2, log_path=tmp_path / "a.log")
    try:
        session = requests.Session()

        # Sign in through A...
        session.get(f"{a.url}/login/", timeout=60)
        home_a = _post(
            session,
            f"{a.url}/login/",
            {"username": django_settings.DEMO_USERNAME, "password": django_settings.DEMO_PASSWORD},
        )
        assert _signed_in(home_a), "sign-in through A failed"
        # ...and carry on through B, without signing in again.
        assert _signed_in(session.get(f"{b.url}/", timeout=60)), "B did not recognise A's session"

        # A metric created through A is listed through B.
        name = f"scale_out_{uuid.uuid4().hex[:6]}"
        session.get(f"{a.url}/apps/appID1/metrics/new/", timeout=60)
        created = _post(
            session,
            f"{a.url}/apps/appID1/metrics/new/",
            {
                "action": "create",
                "name": name,
                "metric": "sessions_total",
                "built_for": "sessions_total",
                "time_granularity": "hourly",
                "data_destination": "metrics_api",
                "filters": "",
            },
        )
        assert created.status_code == 200
        listed_b = session.get(f"{b.url}/apps/appID1/", timeout=60)
        assert _signed_in(listed_b) and name in listed_b.text

        # A client keeps requesting through a "load balancer" (A and B in turn; a refused
        # connection goes to the other instance) while A is stopped.
        outcomes: list[tuple[str, int, bool]] = []
        stop = threading.Event()

        # The client has its own connection pool but the same cookies: the same person, another tab.
        tab = requests.Session()
        tab.cookies.update(session.cookies)

        def client() -> None:
            turn = 0
            while not stop.is_set():
                order = [("A", a.url), ("B", b.url)] if turn % 2 == 0 else [("B", b.url), ("A", a.url)]
                turn += 1
                for label, base in order:
                    try:
                        page = tab.get(f"{base}/apps/appID1/", timeout=60)
                    except requests.ConnectionError:
                        continue
                    outcomes.append((label, page.status_code, _signed_in(page) and name in page.text))
                    break
                else:
                    outcomes.append(("none", 0, False))

        worker = threading.Thread(target=client)
        worker.start()
        time.sleep(1.5)
        # A second metric, created through A while the client is busy, just before A goes away.
        late = f"scale_out_late_{uuid.uuid4().hex[:6]}"
        _post(
            session,
            f"{a.url}/apps/appID1/metrics/new/",
            {
                "action": "create",
                "name": late,
                "metric": "sessions_total",
                "built_for": "sessions_total",
                "time_granularity": "daily",
                "data_destination": "metrics_api",
                "filters": "",
            },
        )
        served_by_a_before = sum(1 for label, _, _ in outcomes if label == "A")
        a.stop()
        stopped_at = len(outcomes)
        time.sleep(1.5)
        stop.set()
        worker.join(timeout=120)

        assert a.process.returncode == 0, "A did not shut down cleanly"
        assert served_by_a_before > 0, "the client never reached A before it stopped"
        assert len(outcomes) > stopped_at, "the client made no request after A stopped"
        assert all(label == "B" for label, _, _ in outcomes[stopped_at + 1 :])
        failures = [outcome for outcome in outcomes if outcome[1:] != (200, True)]
        assert not failures, f"{len(failures)} of {len(outcomes)} requests failed: {failures[:5]}"

        # Nothing A did is lost: B lists both metrics and still knows the person.
        final = session.get(f"{b.url}/apps/appID1/", timeout=60)
        assert _signed_in(final)
        assert name in final.text and late in final.text
    finally:
        a.stop()
        b.stop()
    # Every request was logged by the instance that answered it, with its request id.
    assert re.search(r'"logger": "metrics_ui.access".*"request_id": "[0-9a-f]{32}"', b.log())
