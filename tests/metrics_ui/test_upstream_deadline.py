"""A page view's calls to Embrace share one deadline (``UPSTREAM_PAGE_DEADLINE``): each attempt is cut to
the time left and no retry starts past it, while a create keeps its single full attempt and the check after
it. Over real sockets to the loopback fault server, with margins wide enough for a busy machine."""

import time

import pytest

from metrics_ui import upstream
from metrics_ui.page_deadline import deadline
from tests.faults import Respond
from tests.metrics_ui.test_upstream import APP, BODY, METRIC, TOKEN


@pytest.fixture
def client(fast_upstream_settings, fault_upstream) -> upstream.Client:
    fast_upstream_settings.UPSTREAM_READ_TIMEOUT = 5.0
    return upstream.Client(TOKEN, "sandbox")


def test_a_hung_read_is_cut_to_the_time_left_and_not_retried_past_the_deadline(client, fault_upstream):
    """Without the deadline this waits two full read timeouts (10 s); with 1 s left it gives up in about 1 s
    and says Embrace didn't answer in time."""
    fault_upstream.hang()

    started = time.monotonic()
    with deadline(1.0), pytest.raises(upstream.Unavailable) as caught:
        client.list_metrics(APP)

    assert time.monotonic() - started < 4.0
    assert fault_upstream.count("GET") == 1
    assert caught.value.timed_out
    assert caught.value.message == "Embrace didn't answer in time. Try again in a minute."


def test_a_retry_after_longer_than_the_time_left_is_not_waited_for(client, fault_upstream):
    """The 503 is explained at once instead of sleeping towards a retry that could not finish in time."""
    fault_upstream.respond(503, {"message": "busy"}, headers={"Retry-After": "3"})

    with deadline(2.0), pytest.raises(upstream.ServerError):
        client.list_metrics(APP)

    assert fault_upstream.count("GET") == 1


def test_a_create_keeps_its_full_attempt_and_the_check_after_it_gets_a_fresh_deadline(client, fault_upstream):
    """A create slower than the whole page deadline still completes (it is never cut short or retried),
    and the look-up that follows a create still runs although the first deadline is long past."""
    fault_upstream.script([Respond(200, METRIC, delay=0.6)]).json({"results": [METRIC]})

    with deadline(0.3):
        created = client.create_metric(APP, BODY)
        found = client.find_metric(APP, METRIC["name"])

    assert created.name == found.name == METRIC["name"]
    assert [r.method for r in fault_upstream.requests] == ["POST", "GET"]
