"""Every upstream fault crossed with every console action that calls the upstream.

For each fault (rows of ``FAULTS``) and each action (list, detail, create, delete, adding a token, the
chart from the Metrics API), through
the real console views, with the built-in "sandbox" region pointed at a fault-injecting server over real
HTTP, the person sees:

* a specific message in plain words and the reference id of their request (the ``X-Request-ID`` echoed
  by the console), never a 500;
* everything they typed still in the form (create: name, base metric, group-by, granularities,
  destinations and every filter field; token: label, region and app IDs; delete: the typed name);
* a way to try again (a link or a button);
* the answer within the time budget the settings imply (:func:`budget`);
* the expected number of attempts upstream: reads (GET, DELETE) retried with backoff, a create sent
  exactly once, a redirect never followed (the other host sees nothing, so never the token).

Timeouts are shortened by ``fast_upstream_settings`` (connect 0.5 s, read 0.5 s, backoff factor 0.05 s);
the production figures are in docs/upstream.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.html import escape

from metrics_ui import catalog, filter_tree
from metrics_ui.models import ApiToken
from sandbox.models import CustomMetric
from tests.faults import Forward, Hang, Reset, Respond, big_json, html
from tests.markup import has, value_of
from tests.metrics_ui.test_create import tree_of
from tests.ops.support import production_env, settings_in

APP = "appID1"
NAME = "sessions_by_version"
SLACK_SECONDS = 1.5  # rendering, the database and a busy two-core test machine
RETRY_AFTER = 1

METRIC_JSON = {
    "custom_metric_id": "cm-1",
    "app_id": APP,
    "name": NAME,
    "metric": "sessions_total",
    "filters": {},
    "group_by": ["app_version"],
    "time_granularity": ["hourly"],
    "data_destination": ["metrics_api"],
}
TREE = filter_tree.Group("and", (
    filter_tree.Condition("app_version", "eq", "1.2"),
    filter_tree.Group("or", (filter_tree.Condition("os_version", "eq", "12"),
                             filter_tree.Condition("os_version", "in", "13\n14"))),
))  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """One way the upstream misbehaves, and what the console should make of it."""

    action: object  # a tests.faults action, or a callable(view) -> action for view-specific bodies
    message: str  # the plain-language words the person must see
    retried: bool = False  # a read is retried (5xx, 429, a timeout, a reset before any answer)
    timeout: bool = False  # each attempt waits for the read timeout
    may_have_reached: bool = False  # a create may have been processed: the console looks it up
    retry_after: int = 0
    succeeds: bool = False  # within budget: the page works normally


def _good(view: str) -> object:
    if view == "chart":  # the Metrics API's Prometheus envelope
        return {"status": "success", "data": {"resultType": "matrix", "result": []}}
    return {"results": [METRIC_JSON]} if view != "create" else METRIC_JSON


JSON_TYPE = {"Content-Type": "application/json"}
TEN_MB = 10 * 1024 * 1024
FAULTS: dict[str, Fault] = {
    "500": Fault(Respond(500, {"message": "internal error"}), "Embrace had a problem", retried=True),
    "502": Fault(Respond(502, html("Bad Gateway")), "Embrace had a problem", retried=True),
    "503": Fault(Respond(503, html()), "Embrace had a problem", retried=True),
    "429 Retry-After": Fault(
        Respond(429, {"message": "slow down"}, {"Retry-After": str(RETRY_AFTER)}),
        "Embrace is busy",
        retried=True,
        retry_after=RETRY_AFTER,
    ),
    "hang": Fault(Hang(), "didn't answer in time", retried=True, timeout=True, may_have_reached=True),
    "reset before answering": Fault(Reset(), "cut off", retried=True, may_have_reached=True),
    "reset mid-body": Fault(lambda view: Reset(body=_good(view)), "cut off", may_have_reached=True),
    "not JSON": Fault(Respond(200, "OK", {"Content-Type": "text/plain"}), "unexpected way"),
    "HTML": Fault(Respond(200, html("Welcome"), {"Content-Type": "text/html"}), "unexpected way"),
    "truncated JSON": Fault(Respond(200, '{"results": [{"name": "ses', JSON_TYPE), "unexpected way"),
    "wrong shape": Fault(Respond(200, {"items": [{"id": 1}]}), "unexpected way"),
    "10 MB body": Fault(Respond(200, big_json(TEN_MB), JSON_TYPE), "unexpected way"),
    "10 MB chunked": Fault(Respond(200, big_json(TEN_MB), JSON_TYPE, chunked=True), "unexpected way"),
    "slow, within budget": Fault(lambda view: Respond(200, _good(view), delay=0.3), "", succeeds=True),
    "redirect to another host": Fault(None, "unexpected way"),  # set up in the test (needs the other host)
}
VIEWS = ("list", "detail", "create", "delete", "token", "chart")


def read_attempts(fault: Fault) -> int:
    """Attempts urllib3 makes for one GET or DELETE: timeouts and resets once more, statuses twice more."""
    if not fault.retried:
        return 1
    retries = django_settings.UPSTREAM_READ_RETRIES
    return 1 + (min(retries, 1) if fault.timeout or fault.may_have_reached else retries)


def call_budget(fault: Fault, attempts: int) -> float:
    """The most one upstream call may take: every attempt up to both timeouts, plus the waits between."""
    per_attempt = django_settings.UPSTREAM_CONNECT_TIMEOUT + django_settings.UPSTREAM_READ_TIMEOUT
    factor = django_settings.UPSTREAM_BACKOFF_FACTOR
    # urllib3 waits factor * 2**(n-1) (+ up to ``factor`` of jitter) before retry n, or Retry-After.
    waits = sum(max(fault.retry_after, factor * 2 ** (n - 1) + factor) for n in range(1, attempts))
    return attempts * per_attempt + waits


def budget(fault: Fault, view: str) -> float:
    if view in ("create", "delete"):
        # A create is never retried; a delete is. Either may have been carried out when its answer is lost,
        # so the console then looks the metric up by name before saying anything.
        total = call_budget(fault, 1 if view == "create" else read_attempts(fault))
        if fault.may_have_reached:
            total += call_budget(fault, read_attempts(fault))  # the look-up by name
        return total + SLACK_SECONDS
    return call_budget(fault, read_attempts(fault)) + SLACK_SECONDS


def expected_requests(fault: Fault, view: str) -> list[str]:
    if view == "create":
        return ["POST"] + ["GET"] * (read_attempts(fault) if fault.may_have_reached else 0)
    if view == "delete":
        return ["DELETE"] * read_attempts(fault) + ["GET"] * (
            read_attempts(fault) if fault.may_have_reached else 0
        )
    return ["GET"] * read_attempts(fault)


# --- the person's input per action ---------------------------------------------------------------------


def create_form() -> dict:
    return {
        "name": NAME,
        "metric": "sessions_total",
        "built_for": "sessions_total",
        "group_by": ["app_version", "os_version"],
        "time_granularity": ["hourly", "daily"],
        "data_destination": ["metrics_api", "datadog"],
        "action": "create",
        **filter_tree.to_form(TREE),
    }


def token_form() -> dict:
    return {"label": "Staging apps", "region": "sandbox", "token": "tok_reliability_0123456789",
            "app_ids": "newApp1"}  # fmt: skip


def shown(text: str, page: str) -> bool:
    """Whether ``text`` is on the page: as template text, or escaped as data (an apostrophe is &#x27;)."""
    return text in page or escape(text) in page


def assert_create_input_kept(html_text: str) -> None:
    assert value_of(html_text, "name") == NAME
    assert has(html_text, "option", value="sessions_total", selected=True)
    for name, values in create_form().items():
        if name not in ("group_by", "time_granularity", "data_destination"):
            continue
        for value in values:
            assert has(html_text, "input", name=name, value=value, checked=True), (name, value)
    assert tree_of(html_text) == TREE  # every filter field: connectors, keys, operators, values


def assert_token_input_kept(html_text: str) -> None:
    assert 'value="Staging apps"' in html_text
    assert re.search(r'<option value="sandbox"[^>]*selected', html_text)
    assert re.search(r"<textarea[^>]*name=\"app_ids\"[^>]*>\s*newApp1</textarea>", html_text)
    assert "tok_reliability_0123456789" not in html_text  # the token itself is never sent back


@pytest.fixture
def matrix_client(signed_in_client, fault_upstream, fast_upstream_settings):
    # The create form's base metrics are normally cached after the form is first opened; with them cached
    # the fault under test hits only the create (and its look-up), which is what this matrix measures.
    cache.set(f"metrics_ui:parameters:sandbox:{APP}", dict(catalog.CATALOG), 300)
    return signed_in_client


def run(client, view: str):
    if view == "list":
        return client.get(reverse("metric_list", args=[APP]))
    if view == "detail":
        return client.get(reverse("metric_detail", args=[APP, NAME]))
    if view == "create":
        return client.post(reverse("metric_create", args=[APP]), create_form())
    if view == "delete":
        return client.post(reverse("metric_delete", args=[APP, NAME]), {"confirm_name": NAME})
    if view == "chart":  # the chart htmx loads after the metric's page, from the Metrics API
        token = ApiToken(
            user_id=client.session["_auth_user_id"], label="Charts", region="sandbox", kind="metrics_api"
        )
        token.set_token("metrics-api-reliability-0123")
        token.save()
        return client.get(reverse("metric_chart", args=[APP, NAME]), HTTP_HX_REQUEST="true")
    return client.post(reverse("token_list"), token_form())


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_each_fault_gets_a_plain_message_a_reference_a_retry_and_keeps_the_input(
    matrix_client, fault_upstream, fault_other_host, fault_name, view
):
    fault = FAULTS[fault_name]
    if fault_name == "redirect to another host":
        fault_upstream.redirect(f"{fault_other_host.url}/api/v1/app/{APP}/custom-metrics")
    else:
        action = fault.action(view) if callable(fault.action) else fault.action
        fault_upstream._set(action)
    tokens_before = ApiToken.objects.count()

    started = time.monotonic()
    response = run(matrix_client, view)
    elapsed = time.monotonic() - started

    assert elapsed <= budget(fault, view), f"{elapsed:.2f} s > budget {budget(fault, view):.2f} s"
    assert [r.method for r in fault_upstream.requests] == expected_requests(fault, view)
    for method in ("GET", "DELETE"):  # each read or delete call retries on its own
        retried = [r for r in fault_upstream.requests if r.method == method]
        for attempt in range(2, len(retried)):  # urllib3 waits before the 2nd retry, or Retry-After each time
            gap = retried[attempt].at - retried[attempt - 1].at
            assert gap >= max(fault.retry_after, 2 * django_settings.UPSTREAM_BACKOFF_FACTOR) * 0.95, gap
    assert fault_other_host.requests == []  # a redirect is never followed: the token stays home
    assert all(r.headers.get("authorization", "").startswith("Bearer ") for r in fault_upstream.requests)

    if fault.succeeds or (view == "delete" and fault_name == "wrong shape"):
        # Slow but in time: the page works. (A 2xx to DELETE means deleted, whatever its body says.)
        assert response.status_code in (200, 302), response.status_code
        if view in ("list", "detail"):
            assert NAME in response.content.decode() and "upstream-error" not in response.content.decode()
        if view == "chart":
            assert "No data yet" in response.content.decode()
        return

    assert response.status_code == 200, response.status_code  # a page with a message, never a 500
    page = response.content.decode()
    reference = response["X-Request-ID"]
    message = fault.message
    if view == "create" and fault.may_have_reached:
        # The look-up by name failed the same way, so the create's fate is unknown, and the page says so.
        message = "we couldn't check whether the metric was created"
    if view == "delete" and fault.may_have_reached:
        message = "It may already be deleted"
    assert shown(message, page), f"{message!r} not in the page"
    assert reference in page, "the reference id is not shown"
    if view in ("list", "detail"):
        retry = reverse("metric_list", args=[APP]) if view == "list" else f"/apps/{APP}/metrics/{NAME}/"
        assert has(page, "a", href=retry, class_="retry-link") and "Try again</a>" in page
    elif view == "chart":
        retry = f"/apps/{APP}/metrics/{NAME}/?chart=1&range=7d&granularity=hourly#chart"
        assert has(page, "a", href=retry, class_="retry-link") and "Try again</a>" in page
    elif view == "create":
        assert_create_input_kept(page)
        assert re.search(r'<button type="submit" name="action" value="create"[^>]*>Try again</button>', page)
    elif view == "delete":
        # Only when the delete surely never happened does the page say nothing was deleted.
        assert ("Nothing was deleted" in page) is not fault.may_have_reached
        assert value_of(page, "confirm_name") == NAME
        assert ">Delete this metric</button>" in page
    else:
        assert "Nothing was saved" in page
        assert_token_input_kept(page)
        assert ">Check with Embrace and save</button>" in page
        assert ApiToken.objects.count() == tokens_before


def test_a_refused_connection_is_explained_at_once_and_nothing_is_lost(
    matrix_client, closed_port_url, fast_upstream_settings
):
    """Nothing listens on the port: the create says so without a look-up (nothing can have arrived)."""
    started = time.monotonic()
    response = matrix_client.post(reverse("metric_create", args=[APP]), create_form())
    elapsed = time.monotonic() - started
    page = response.content.decode()
    assert response.status_code == 200
    assert shown("Can't reach Embrace right now", page) and response["X-Request-ID"] in page
    assert_create_input_kept(page)
    assert elapsed < 1 + SLACK_SECONDS


def test_while_the_breaker_is_open_pages_answer_at_once_with_the_retry_time(
    matrix_client, fault_upstream, fast_upstream_settings
):
    """After UPSTREAM_BREAKER_FAILURES failed calls, the next page doesn't wait for Embrace at all."""
    fast_upstream_settings.UPSTREAM_BREAKER_RESET_SECONDS = 60
    fault_upstream.respond(503)
    for _ in range(fast_upstream_settings.UPSTREAM_BREAKER_FAILURES):
        matrix_client.get(reverse("metric_list", args=[APP]))
    calls = fault_upstream.count()
    started = time.monotonic()
    response = matrix_client.get(reverse("metric_list", args=[APP]))
    elapsed = time.monotonic() - started
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"Embrace is unavailable; retrying after \d\d:\d\d", page)
    assert fault_upstream.count() == calls  # no request was made
    assert elapsed < 0.5


def test_a_delete_whose_answer_was_lost_is_checked_and_reported_as_done(
    signed_in_client, fault_proxy, fast_upstream_settings
):
    """Embrace deletes the metric but the answer is lost, and the retry fails too (seen in bench/soak.py):
    the console looks the metric up, finds it gone, and reports the delete as done."""
    name = "sessions_total_v1"
    assert CustomMetric.objects.filter(app__app_id=APP, name=name).exists()
    fault_proxy.script([Forward(then="reset"), Reset()])
    response = signed_in_client.post(
        reverse("metric_delete", args=[APP, name]), {"confirm_name": name}, follow=True
    )
    assert [r.method for r in fault_proxy.requests][:2] == ["DELETE", "DELETE"]
    assert fault_proxy.requests[2].method == "GET"  # the look-up by name, before the list page
    assert not CustomMetric.objects.filter(app__app_id=APP, name=name).exists()  # it was deleted
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("metric_list", args=[APP])
    assert "Nothing was deleted" not in page
    assert f"Deleted “{name}”" in page


def test_a_lost_delete_answer_with_a_failed_check_says_it_may_already_be_deleted(
    signed_in_client, fault_proxy, fast_upstream_settings
):
    """When the look-up fails too, the page says it can't tell, keeps the typed name, and never claims
    that nothing was deleted."""
    name = "sessions_total_v1"
    fault_proxy.script([Forward(then="reset"), Reset(), Reset(), Reset(), Reset()])
    response = signed_in_client.post(reverse("metric_delete", args=[APP, name]), {"confirm_name": name})
    page = response.content.decode()
    assert response.status_code == 200
    assert "It may already be deleted" in page
    assert "Nothing was deleted" not in page
    assert f'value="{name}"' in page


UPSTREAM_DEFAULTS = (
    "UPSTREAM_CONNECT_TIMEOUT",
    "UPSTREAM_READ_TIMEOUT",
    "UPSTREAM_READ_RETRIES",
    "UPSTREAM_BACKOFF_FACTOR",
    "UPSTREAM_PAGE_DEADLINE",
)


def test_at_production_defaults_a_hung_upstream_answers_the_page_within_the_page_deadline(
    signed_in_client, fault_upstream, settings
):
    """With the timeouts a production start-up gets (3.05 s connect, 10 s read, retries), a list page whose
    upstream never answers would wait about 26 s for two attempts; the page deadline (at most 10 s) ends the
    wait and the person gets the usual banner, their reference and a way to try again. Costs ~10 s."""
    defaults = settings_in(production_env(), *UPSTREAM_DEFAULTS)
    for name, value in defaults.items():
        setattr(settings, name, value)
    assert 0 < settings.UPSTREAM_PAGE_DEADLINE <= 10
    assert settings.UPSTREAM_READ_TIMEOUT >= settings.UPSTREAM_PAGE_DEADLINE  # the deadline is what bounds it
    fault_upstream.hang()

    started = time.monotonic()
    response = signed_in_client.get(reverse("metric_list", args=[APP]))
    elapsed = time.monotonic() - started

    assert elapsed <= settings.UPSTREAM_PAGE_DEADLINE + 2 * SLACK_SECONDS, f"{elapsed:.1f} s"
    assert response.status_code == 200
    page = response.content.decode()
    assert shown("didn't answer in time", page)
    assert response["X-Request-ID"] in page
    assert f'href="{reverse("metric_list", args=[APP])}" class="retry-link">Try again</a>' in page
    assert fault_upstream.count("GET") == 1  # no second attempt that could not have finished in time
