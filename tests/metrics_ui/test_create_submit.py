"""Submitting the create form over the live sandbox: every outcome keeps what the person entered,
a timed-out create is reconciled by name, and a double submit creates exactly one metric."""

import re
import threading

import pytest
import requests
from django.core.cache import cache
from django.urls import reverse

from metrics_ui import filter_tree
from metrics_ui.models import AuditRecord
from sandbox.models import CustomMetric
from tests.faults import Forward, Hang, Respond
from tests.markup import has, value_of

URL = reverse("metric_create", args=["appID1"])
TREE = filter_tree.Group("and", (
    filter_tree.Condition("app_version", "eq", "1.2"),
    filter_tree.Group("or", (filter_tree.Condition("os_version", "eq", "12"),
                             filter_tree.Condition("os_version", "eq", "13"))),
))  # fmt: skip


@pytest.fixture(autouse=True)
def _no_cached_parameters():
    cache.clear()  # each test decides what the upstream's parameters endpoint answers
    yield
    cache.clear()


def form(name: str = "sessions_by_version", **extra) -> dict:
    data = {
        "name": name,
        "metric": "sessions_total",
        "built_for": "sessions_total",
        "group_by": ["app_version"],
        "time_granularity": ["hourly", "daily"],
        "data_destination": ["metrics_api"],
        "action": "create",
        **filter_tree.to_form(TREE),
    }
    data.update(extra)
    return data


def assert_input_kept(html: str, name: str = "sessions_by_version") -> None:
    assert value_of(html, "name") == name
    assert has(html, "input", name="group_by", value="app_version", checked=True)
    assert has(html, "input", name="time_granularity", value="daily", checked=True)
    assert value_of(html, "filter-0.1.1-value") == "13"
    assert "app version is 1.2 and (OS version is 12 or OS version is 13)" in html


def test_a_created_metric_opens_its_page_with_a_success_message(signed_in_client):
    response = signed_in_client.post(URL, form())
    assert response.status_code == 302
    assert response["Location"] == reverse("metric_detail", args=["appID1", "sessions_by_version"])
    stored = CustomMetric.objects.get(app__app_id="appID1", name="sessions_by_version")
    assert stored.filters["children"][1] == {
        "op": "or",
        "children": [
            {"field_op": "eq", "key": "os_version", "val": "12"},
            {"field_op": "eq", "key": "os_version", "val": "13"},
        ],
    }
    assert sorted(stored.time_granularity) == ["daily", "hourly"]
    record = AuditRecord.objects.get(action="metric.create", metric="sessions_by_version")
    assert (record.app_id, record.upstream_status, record.outcome) == ("appID1", 200, "created (create)")
    assert record.body["filters"] == stored.filters
    htmx = signed_in_client.post(URL, form("other_name"), HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == reverse("metric_detail", args=["appID1", "other_name"])


def test_submitting_the_same_definition_again_reports_it_already_existed(signed_in_client):
    signed_in_client.post(URL, form())
    response = signed_in_client.post(URL, form(), follow=False)
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any(
        "already existed in appID1 with exactly these settings; nothing changed" in m for m in messages
    )
    assert CustomMetric.objects.filter(name="sessions_by_version").count() == 1


def test_a_name_taken_by_a_different_metric_is_shown_on_the_name_field_with_a_link(signed_in_client):
    html = signed_in_client.post(URL, form("sessions_total_v1")).content.decode()
    assert "A metric named sessions_total_v1 already exists in appID1, with different settings." in html
    assert reverse("metric_detail", args=["appID1", "sessions_total_v1"]) in html
    assert_input_kept(html, "sessions_total_v1")


def test_an_upstream_rejection_is_shown_on_the_field_it_concerns(signed_in_client, fault_proxy):
    fault_proxy.script([Forward(), Respond(400, {"message": "group_by <b>x</b> is not allowed"})])
    html = signed_in_client.post(URL, form()).content.decode()
    errors = re.search(r'<p id="group-by-errors" class="field-error">(.*?)</p>', html).group(1)
    assert "Embrace rejected this: group_by &lt;b&gt;x&lt;/b&gt; is not allowed" in errors
    assert_input_kept(html)


def test_a_forbidden_app_links_to_the_token_page_and_keeps_the_input(client, make_user, seed):
    client.force_login(make_user("stranger", apps=[seed["other_app"]]))
    html = client.post(reverse("metric_create", args=[seed["other_app"]]), form()).content.decode()
    assert "Your Embrace token was refused for app otherOrgApp" in html
    assert reverse("token_list") in html
    assert "built-in list is shown" in html  # parameters failed too, so the catalog stood in
    assert_input_kept(html)


def test_a_server_error_offers_a_retry_with_a_reference_and_keeps_the_input(signed_in_client, fault_proxy):
    fault_proxy.script(
        [Forward(), Respond(500, {"message": "we had an internal error, please try again later"})]
    )
    response = signed_in_client.post(URL, form())
    html = response.content.decode()
    assert response.status_code == 200
    assert "quote the reference" in html and has(html, "button", value="create", class_="inline-retry")
    assert_input_kept(html)
    assert fault_proxy.count("POST") == 1  # a create is never retried


def test_a_create_that_timed_out_but_reached_embrace_is_reported_as_created(
    signed_in_client, fault_proxy, fast_upstream_settings
):
    """The sandbox creates the metric, the answer never comes; the console looks it up and says so."""
    fault_proxy.script([Forward(), Forward(then="hang")])
    response = signed_in_client.post(URL, form())
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("we checked: sessions_by_version was created" in m for m in messages)
    assert fault_proxy.count("POST") == 1
    assert CustomMetric.objects.filter(name="sessions_by_version").count() == 1
    assert AuditRecord.objects.get(action="metric.create").outcome == "existed (timeout)"


def test_a_create_that_timed_out_before_reaching_embrace_says_it_was_not_created(
    signed_in_client, fault_proxy, fast_upstream_settings
):
    fault_proxy.script([Forward(), Hang()])
    html = signed_in_client.post(URL, form()).content.decode()
    assert "it was not created" in html and "Try again" in html
    assert_input_kept(html)
    assert not CustomMetric.objects.filter(name="sessions_by_version").exists()


def test_a_timed_out_create_whose_lookup_fails_too_keeps_the_definition(
    signed_in_client, fault_proxy, fast_upstream_settings
):
    fault_proxy.script([Forward(), Hang()])
    fault_proxy.respond(503)  # every later request, the look-up included
    html = signed_in_client.post(URL, form()).content.decode()
    assert "couldn't check whether the metric was created" in html
    assert_input_kept(html)


def test_a_timed_out_create_that_found_a_different_metric_says_so(
    signed_in_client, fault_proxy, fast_upstream_settings
):
    fault_proxy.script([Forward(), Hang()])
    html = signed_in_client.post(URL, form("sessions_total_v1")).content.decode()
    assert "already exists in appID1, with different settings" in html
    assert "the metric there is not the one you submitted" in html


def test_two_identical_submissions_at_once_create_exactly_one_metric(
    signed_in_client, live_server, fault_proxy, fast_upstream_settings, settings
):
    """A double click: one create reaches Embrace; both tabs are told the metric exists."""
    session = requests.Session()
    name = settings.SESSION_COOKIE_NAME
    session.cookies.set(name, signed_in_client.cookies[name].value)
    page = session.get(live_server.url + URL).text  # also caches the parameters
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    fault_proxy.clear()
    # The first create is processed by the sandbox, then the answer stalls: the second arrives meanwhile.
    fault_proxy.script([Forward(then="hang")])
    results = []

    def submit():
        answer = session.post(live_server.url + URL, data={**form(), "csrfmiddlewaretoken": token},
                              headers={"Referer": live_server.url + URL}, allow_redirects=False)  # fmt: skip
        results.append(answer)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert [r.status_code for r in results] == [302, 302]
    assert fault_proxy.count("POST") == 1
    assert CustomMetric.objects.filter(name="sessions_by_version").count() == 1
