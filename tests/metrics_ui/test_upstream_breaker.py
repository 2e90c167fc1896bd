"""The circuit breaker: opens on outages, fails fast while open, probes once, ignores one user's 4xx.

Settings from ``fast_upstream_settings``: 3 failures open it, the cool-down is 0.5 s. Reads are not retried
here (UPSTREAM_READ_RETRIES=0) so one call is one request and the counts are easy to follow.
"""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics_ui import upstream
from tests.faults import Respond

TOKEN = "3f9a0c1e5b7d4a2c8e6f1b0d9c7a5e3f"
APP = "appID1"


@pytest.fixture
def client(fast_upstream_settings, fault_upstream) -> upstream.Client:
    fast_upstream_settings.UPSTREAM_READ_RETRIES = 0
    return upstream.Client(TOKEN, "sandbox")


def _fail(client: upstream.Client, times: int) -> None:
    for _ in range(times):
        with pytest.raises(upstream.UpstreamError) as caught:
            client.list_metrics(APP)
        assert not isinstance(caught.value, upstream.CircuitOpen)


def test_the_breaker_opens_after_n_server_errors_and_then_fails_fast(client, fault_upstream):
    fault_upstream.respond(503)
    _fail(client, 3)

    started = time.monotonic()
    with pytest.raises(upstream.CircuitOpen) as caught:
        client.list_metrics(APP)

    assert time.monotonic() - started < 0.2, "fails fast, without waiting for any timeout"
    assert fault_upstream.count() == 3, "no request reaches Embrace while the circuit is open"
    assert isinstance(caught.value, upstream.Unavailable)
    assert caught.value.may_have_reached is False
    assert caught.value.retry_at > datetime.now(UTC)
    assert caught.value.retry_at <= datetime.now(UTC) + timedelta(seconds=0.5)


def test_the_open_message_gives_the_retry_time_in_the_servers_time_zone(client, fault_upstream, settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30, so a UTC clock would show different minutes
    settings.UPSTREAM_BREAKER_RESET_SECONDS = 90
    fault_upstream.respond(500)
    _fail(client, 3)

    with pytest.raises(upstream.CircuitOpen) as caught:
        client.create_metric(APP, {"name": "m", "metric": "sessions_total"})

    local = caught.value.retry_at.astimezone(ZoneInfo("Asia/Kolkata"))
    shown = (local.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%H:%M")
    assert caught.value.message == f"Embrace is unavailable; retrying after {shown}."
    assert fault_upstream.count("POST") == 0


def test_timeouts_and_refusals_count_towards_opening(client, fault_upstream):
    fault_upstream.hang()
    _fail(client, 3)

    with pytest.raises(upstream.CircuitOpen):
        client.list_metrics(APP)
    assert fault_upstream.count() == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429])
def test_one_users_client_errors_never_open_the_breaker(client, fault_upstream, status):
    fault_upstream.respond(status, {"message": "no"})
    _fail(client, 6)

    fault_upstream.json({"results": []})
    assert client.list_metrics(APP) == ()
    assert fault_upstream.count() == 7


def test_bad_responses_do_not_open_the_breaker(client, fault_upstream):
    fault_upstream.respond(200, "<html>")
    _fail(client, 5)

    with pytest.raises(upstream.BadResponse):
        client.list_metrics(APP)


def test_after_the_cool_down_one_probe_goes_through_and_success_closes(client, fault_upstream):
    fault_upstream.respond(503)
    _fail(client, 3)
    time.sleep(0.6)
    fault_upstream.respond(200, {"results": []}, delay=0.3)

    probe = threading.Thread(target=client.list_metrics, args=(APP,))
    probe.start()
    time.sleep(0.1)
    with pytest.raises(upstream.CircuitOpen):
        client.list_metrics(APP)  # while the probe is in flight, everyone else still fails fast
    probe.join()

    assert fault_upstream.count() == 4, "exactly one probe reached Embrace"
    assert upstream.breaker_states() == {fault_upstream.url: "closed"}
    assert client.list_metrics(APP) == ()
    assert fault_upstream.count() == 5


def test_a_failed_probe_opens_the_breaker_again(client, fault_upstream):
    fault_upstream.respond(502)
    _fail(client, 3)
    time.sleep(0.6)

    _fail(client, 1)  # the probe
    with pytest.raises(upstream.CircuitOpen):
        client.list_metrics(APP)
    assert fault_upstream.count() == 4


def test_every_transition_is_logged_as_a_warning(client, fault_upstream, caplog):
    caplog.set_level(logging.WARNING, logger="metrics_ui.upstream")
    fault_upstream.respond(503)
    _fail(client, 3)
    time.sleep(0.6)
    fault_upstream.json({"results": []})
    client.list_metrics(APP)

    transitions = [
        (r.from_state, r.to_state)
        for r in caplog.records
        if getattr(r, "breaker", None) == fault_upstream.url
    ]
    assert transitions == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    assert all(r.levelno == logging.WARNING for r in caplog.records if hasattr(r, "breaker"))


def test_each_base_url_has_its_own_breaker(client, fault_upstream, fault_other_host, settings):
    fault_upstream.respond(503)
    _fail(client, 3)

    settings.SANDBOX_BASE_URL = fault_other_host.url
    assert client.list_metrics(APP) == ()
    assert upstream.breaker_states()[fault_upstream.url] == "open"


def test_a_success_resets_the_failure_count(client, fault_upstream):
    fault_upstream.script([Respond(503), Respond(503), Respond(200, {"results": []})]).respond(503)
    _fail(client, 2)
    client.list_metrics(APP)
    _fail(client, 2)

    assert upstream.breaker_states()[fault_upstream.url] == "closed"
