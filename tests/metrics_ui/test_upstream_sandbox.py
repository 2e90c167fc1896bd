"""The upstream module against the real sandbox over HTTP (``live_server``), directly and through the
fault proxy, which lets the sandbox do its work and then spoils the answer."""

import pytest

from metrics_ui import catalog, upstream
from tests.faults import Forward, Respond

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {
    "name": "upstream_test_metric",
    "metric": "sessions_total",
    "group_by": ["app_version"],
    "filters": {"op": "and", "children": [{"field_op": "eq", "key": "os_version", "val": "12"}]},
    "time_granularity": ["five_minute", "hourly"],
    "data_destination": ["metrics_api"],
}


@pytest.fixture
def client(seed, sandbox_url, fast_upstream_settings) -> upstream.Client:
    fast_upstream_settings.UPSTREAM_READ_TIMEOUT = 5
    fast_upstream_settings.UPSTREAM_CONNECT_TIMEOUT = 5
    return upstream.Client(seed["token"], "sandbox")


def test_the_seeded_metrics_are_listed_as_values(client, seed):
    metrics = client.list_metrics("appID1")

    assert metrics, "the seed puts example metrics in appID1"
    assert all(isinstance(m, upstream.CustomMetric) and m.app_id == "appID1" for m in metrics)
    assert all(m.time_granularity and m.data_destination for m in metrics)


def test_create_find_conflict_delete_and_already_deleted(client):
    created = client.create_metric("appID1", BODY)

    assert created.same_definition(BODY) and len(created.custom_metric_id) == 7
    assert client.find_metric("appID1", BODY["name"]) == created
    with pytest.raises(upstream.Conflict, match="already exists in app appID1"):
        client.create_metric("appID1", BODY)
    client.delete_metric("appID1", BODY["name"])
    with pytest.raises(upstream.NotFound, match="already deleted"):
        client.delete_metric("appID1", BODY["name"])
    assert client.find_metric("appID1", BODY["name"]) is None


def test_defaults_applied_by_the_sandbox_still_compare_equal(client):
    body = {"name": "upstream_defaults", "metric": "sessions_total"}

    created = client.create_metric("appID2", body)

    assert created.time_granularity == ("hourly",) and created.data_destination == ("metrics_api",)
    assert created.same_definition(body)


def test_an_invalid_definition_is_rejected_with_the_sandboxs_own_words(client):
    with pytest.raises(upstream.Rejected) as caught:
        client.create_metric("appID1", {**BODY, "metric": "no_such_metric"})

    assert caught.value.status == 400
    assert caught.value.upstream_message
    assert caught.value.message.startswith("Embrace rejected the request: ")


def test_another_organizations_app_is_forbidden(client, seed):
    with pytest.raises(upstream.Forbidden, match=f"refused for app {seed['other_app']}"):
        client.list_metrics(seed["other_app"])


def test_an_unknown_token_is_forbidden(seed, sandbox_url):
    with pytest.raises(upstream.Forbidden):
        upstream.Client("0" * 32, "sandbox").list_metrics("appID1")


def test_parameters_come_back_as_the_catalog(client):
    everything = client.parameters("appID1")
    one = client.parameters("appID1", "sessions_total")

    assert set(everything) == set(catalog.CATALOG)
    assert one["sessions_total"].filter("os_version") is not None


def test_a_create_that_the_sandbox_stored_but_never_answered_can_be_reconciled(client, fault_proxy, settings):
    """The upstream creates the metric and then stalls: the caller is told it may have reached Embrace,
    and a lookup by name finds the same definition."""
    settings.UPSTREAM_READ_TIMEOUT = 1
    fault_proxy.script([Forward(then="hang")])

    with pytest.raises(upstream.Unavailable) as caught:
        client.create_metric("appID1", {**BODY, "name": "stalled_create"})

    assert (caught.value.timed_out, caught.value.may_have_reached) == (True, True)
    assert fault_proxy.requests[0].forwarded_status == 200, "the sandbox did create it"
    found = client.find_metric("appID1", "stalled_create")
    assert found is not None and found.same_definition({**BODY, "name": "stalled_create"})
    assert fault_proxy.count("POST") == 1


def test_a_create_reset_after_the_sandbox_stored_it_may_have_reached(client, fault_proxy):
    fault_proxy.script([Forward(then="reset")])

    with pytest.raises(upstream.Unavailable) as caught:
        client.create_metric("appID1", {**BODY, "name": "reset_create"})

    assert caught.value.may_have_reached is True
    assert client.find_metric("appID1", "reset_create") is not None


def test_a_read_behind_the_proxy_recovers_from_a_503(client, fault_proxy):
    fault_proxy.script([Respond(503, {"message": "we had an internal error, please try again later"})])

    assert client.list_metrics("appID1")
    assert fault_proxy.count("GET") == 2
    assert [r.forwarded_status for r in fault_proxy.requests] == [None, 200]


def test_a_delete_retried_after_a_lost_answer_reports_already_deleted(client, fault_proxy):
    """The first DELETE is processed but its answer is lost; urllib3 retries, and the sandbox says 404."""
    client.create_metric("appID1", {**BODY, "name": "lost_delete"})
    fault_proxy.script([Forward(then="reset")])

    with pytest.raises(upstream.NotFound, match="already deleted"):
        client.delete_metric("appID1", "lost_delete")
    assert [r.forwarded_status for r in fault_proxy.requests if r.method == "DELETE"] == [204, 404]
