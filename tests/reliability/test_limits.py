"""Limits: request size caps, filter depth and size caps, and the per-user write rate limit.

Each limit answers with a message in plain words and keeps what the person entered; none is a 500.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import reverse

import metrics_ui
from metrics_ui import filter_tree, upstream
from metrics_ui.models import ApiToken
from metrics_ui.ops import ratelimit
from sandbox.models import CustomMetric
from tests.markup import has, value_of

APP = "appID1"
CREATE = reverse("metric_create", args=[APP])
HTMX = {"HTTP_HX_REQUEST": "true"}
LIMITED = "You&#x27;ve made a lot of changes in a short time. Please wait a minute and try again."


def create_form(name: str = "sessions_by_version", **extra) -> dict:
    tree = filter_tree.Group("and", (filter_tree.Condition("app_version", "eq", "1.2"),))
    data = {
        "name": name,
        "metric": "sessions_total",
        "built_for": "sessions_total",
        "group_by": ["app_version"],
        "time_granularity": ["daily"],
        "data_destination": ["metrics_api"],
        "action": "create",
        **filter_tree.to_form(tree),
    }
    return {**data, **extra}


def deep_json(depth: int) -> dict:
    node: dict = {"field_op": "eq", "key": "app_version", "val": "1.2"}
    for _ in range(depth):
        node = {"op": "and", "children": [node]}
    return node


def many_conditions(count: int) -> filter_tree.Group:
    return filter_tree.Group(
        "or", tuple(filter_tree.Condition("app_version", "eq", str(i)) for i in range(count))
    )


def flat_json(conditions: int) -> str:
    leaf = '{"key":"app_version","field_op":"eq","val":"1"}'
    return '{"op":"or","children":[' + ",".join([leaf] * conditions) + "]}"


# --- request size caps ----------------------------------------------------------------------------


def test_a_one_megabyte_post_gets_a_plain_413_page_with_a_reference_not_a_500(signed_in_client):
    response = signed_in_client.post(CREATE, create_form(json_import="x" * 1024 * 1024))
    page = response.content.decode()
    assert response.status_code == 413
    assert "That was too much to send at once" in page and "at most 256 KB" in page
    assert response["X-Request-ID"] in page
    assert "Sign out" in page  # the normal console page, with its navigation, not a bare error


def test_with_csrf_checks_on_an_oversized_post_still_gets_the_413_page(demo_user):
    """In production the CSRF check reads the body first, so the cap trips there: same page, not a 403."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(demo_user)
    client.get(CREATE)  # the browser has the CSRF cookie from the form's page
    response = client.post(CREATE, create_form(json_import="x" * 1024 * 1024))
    assert response.status_code == 413
    assert "That was too much to send at once" in response.content.decode()


def test_an_oversized_htmx_post_shows_its_message_in_the_page_message_area(signed_in_client):
    """The console's htmx doesn't swap a 4xx answer, so the message comes as a 200 aimed at #messages."""
    response = signed_in_client.post(CREATE, create_form(json_import="x" * 1024 * 1024), **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#messages" and response["HX-Reswap"] == "innerHTML"
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="request-refused"') and "too much to send" in page


def test_ten_thousand_conditions_as_form_fields_are_refused_as_too_many_fields(signed_in_client):
    tree = filter_tree.Group(
        "or", tuple(filter_tree.Condition("app_version", "eq", str(i)) for i in range(10_000))
    )
    response = signed_in_client.post(CREATE, create_form(**filter_tree.to_form(tree)))
    assert response.status_code == 413
    assert "That was too much to send at once" in response.content.decode()


def test_a_token_post_of_a_megabyte_is_refused_before_anything_is_checked(signed_in_client, fault_proxy):
    data = {"label": "Big", "region": "sandbox", "token": "t" * 1024 * 1024, "app_ids": "appX"}
    response = signed_in_client.post(reverse("token_list"), data)
    assert response.status_code == 413
    assert fault_proxy.requests == []


# --- filter depth and size caps -------------------------------------------------------------------


def test_a_filter_nested_a_thousand_levels_deep_is_explained_not_a_recursion_error(signed_in_client):
    """Pasted as JSON (the only way a person can send so deep a tree): a message, the name kept."""
    data = create_form(json_import=json.dumps(deep_json(1000)), action="import_json")
    response = signed_in_client.post(CREATE, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "nested more than" in page
    assert 'value="sessions_by_version"' in page


def test_a_form_path_a_thousand_levels_deep_is_ignored_and_the_form_still_renders(signed_in_client):
    deep = "filter-" + ".".join(["0"] * 1000)
    data = create_form(**{f"{deep}-node": "group", f"{deep}-key": "app_version", f"{deep}-value": "x"})
    # Browsers send forms URL-encoded: a 2,000-character field name is fine there.
    body = urlencode({**data, "action": "refresh"}, doseq=True)
    response = signed_in_client.post(CREATE, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "app version is 1.2" in response.content.decode()
    # As multipart, the same field name is over Django's part-header limit: a plain 400 page, not a 500.
    response = signed_in_client.post(CREATE, {**data, "action": "refresh"})
    assert response.status_code == 400
    assert "couldn't understand that request" in response.content.decode()


def test_a_pasted_filter_with_five_thousand_conditions_is_explained(signed_in_client):
    """Under the body cap but far over the builder's limits: a message, nothing sent upstream."""
    data = create_form(json_import=flat_json(5_000), action="import_json")
    response = signed_in_client.post(CREATE, data)
    assert response.status_code == 200
    assert "more than 400 items" in response.content.decode()


def test_a_pasted_filter_with_ten_thousand_conditions_is_over_the_body_cap(signed_in_client):
    response = signed_in_client.post(CREATE, create_form(json_import=flat_json(10_000), action="import_json"))
    assert response.status_code == 413


def test_a_filter_over_fifty_conditions_is_refused_on_submit_with_the_input_kept(
    signed_in_client, fault_proxy
):
    tree = filter_tree.Group(
        "or", tuple(filter_tree.Condition("app_version", "eq", str(i)) for i in range(60))
    )
    response = signed_in_client.post(CREATE, create_form(**filter_tree.to_form(tree)))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"at most {filter_tree.MAX_CONDITIONS} conditions" in page
    assert value_of(page, "filter-0.59-value") == "59"
    assert fault_proxy.count("POST") == 0


# --- the per-user write rate limit ----------------------------------------------------------------


@pytest.fixture
def two_writes(settings):
    settings.WRITE_RATE_LIMIT = "2/h"  # an hour: a test never straddles the window
    return settings


def test_creates_past_the_limit_are_refused_with_a_message_and_the_input_kept(
    signed_in_client, fault_proxy, two_writes
):
    for name in ("first_metric", "second_metric"):
        assert signed_in_client.post(CREATE, create_form(name)).status_code == 302
    response = signed_in_client.post(CREATE, create_form("third_metric"))
    page = response.content.decode()
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert LIMITED in page
    assert value_of(page, "name") == "third_metric"
    assert has(page, "input", name="time_granularity", value="daily", checked=True)
    assert value_of(page, "filter-0.0-value") == "1.2"
    assert fault_proxy.count("POST") == 2  # the third never reached Embrace
    assert not CustomMetric.objects.filter(name="third_metric").exists()


def test_an_htmx_create_past_the_limit_gets_its_message_as_a_200_so_htmx_shows_it(
    signed_in_client, fault_proxy, two_writes
):
    for name in ("first_metric", "second_metric"):
        signed_in_client.post(CREATE, create_form(name), **HTMX)
    response = signed_in_client.post(CREATE, create_form("third_metric"), **HTMX)
    assert response.status_code == 200
    assert LIMITED in response.content.decode()
    assert fault_proxy.count("POST") == 2


def test_builder_actions_are_never_limited(signed_in_client, two_writes):
    for name in ("first_metric", "second_metric", "third_metric"):
        signed_in_client.post(CREATE, create_form(name))
    for _ in range(5):
        response = signed_in_client.post(CREATE, create_form(action="add_condition:0"), **HTMX)
        assert response.status_code == 200 and LIMITED not in response.content.decode()


def test_deletes_past_the_limit_are_refused_and_the_metric_stays(signed_in_client, fault_proxy, two_writes):
    creates = [signed_in_client.post(CREATE, create_form(name)) for name in ("one_m", "two_m")]
    assert [r.status_code for r in creates] == [302, 302]  # the two writes of the budget
    url = reverse("metric_delete", args=[APP, "one_m"])
    response = signed_in_client.post(url, {"confirm_name": "one_m"})
    page = response.content.decode()
    assert response.status_code == 429
    assert LIMITED in page and "Nothing was deleted" in page
    assert 'value="one_m"' in page  # the typed name is kept
    assert response["X-Request-ID"] in page
    assert fault_proxy.count("DELETE") == 0
    assert CustomMetric.objects.filter(app__app_id=APP, name="one_m").exists()


def test_token_changes_past_the_limit_are_refused_before_embrace_is_asked(
    signed_in_client, demo_user, fault_proxy, two_writes
):
    url = reverse("token_list")
    for label in ("One", "Two"):
        signed_in_client.post(url, {"label": label, "region": "sandbox", "token": "short", "app_ids": "x"})
    fault_proxy.clear()
    data = {"label": "Three", "region": "sandbox", "token": "tok_limited_0123456789", "app_ids": "appX, appY"}
    response = signed_in_client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 429
    assert LIMITED in page
    assert 'value="Three"' in page and re.search(r">\s*appX, appY</textarea>", page)
    assert "tok_limited_0123456789" not in page
    assert fault_proxy.requests == []  # the token wasn't even checked with Embrace
    assert not ApiToken.objects.filter(label="Three").exists()

    token = ApiToken.objects.get(user=demo_user)
    response = signed_in_client.post(
        reverse("token_replace", args=[token.pk]), {"token": "x" * 20, "app_ids": APP}
    )
    assert response.status_code == 429 and LIMITED in response.content.decode()
    assert fault_proxy.requests == []


def test_the_limit_is_per_person(signed_in_client, make_user, client_factory, two_writes):
    for name in ("first_metric", "second_metric", "third_metric"):
        signed_in_client.post(CREATE, create_form(name))
    other = client_factory(make_user("other-editor"))
    assert other.post(CREATE, create_form("others_metric")).status_code == 302


@pytest.fixture
def client_factory():
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def test_the_limit_fails_open_when_the_cache_cannot_count(rf, settings, demo_user):
    """A cache outage must not stop every change: the limiter lets the write through and logs it."""
    unreachable = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": unreachable,
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    settings.WRITE_RATE_LIMIT = "1/h"  # an hour: a test never straddles the window
    request = rf.post("/")
    request.user = demo_user
    assert ratelimit.write_limited(request) is False
    assert ratelimit.write_limited(request) is False


def test_a_copy_past_the_limit_sends_nothing_and_shows_the_plan_again(
    signed_in_client, fault_proxy, two_writes
):
    for name in ("first_metric", "second_metric"):
        signed_in_client.post(CREATE, create_form(name))
    CustomMetric.objects.filter(app__app_id="appID2", name="first_metric").delete()
    url = reverse("metric_copy", args=[APP, "first_metric"])
    fault_proxy.clear()
    response = signed_in_client.post(url, {"apps": ["appID2"], "stage": "confirm"})
    page = response.content.decode()
    assert "You&#x27;ve made a lot of changes in a short time, so nothing was copied." in page
    assert "Will be created" in page and 'value="confirm"' in page  # the plan, ready to confirm again
    assert fault_proxy.count("POST") == 0


# --- every write counts, a copy costs one write per app -------------------------------------------

COPY_SOURCE = "sessions_total_v1"  # a seed metric of appID1


@pytest.fixture
def four_target_apps(seed, make_user):
    """A signed-in editor whose token reaches appID1 and four apps that don't have the seed metric."""
    from django.test import Client

    from sandbox.models import App

    organization = App.objects.get(app_id=APP).organization
    targets = ["appID2", "appID3", "appID4", "appID5"]
    for app_id in targets:
        App.objects.get_or_create(app_id=app_id, defaults={"organization": organization})
    CustomMetric.objects.filter(app__app_id__in=targets, name=COPY_SOURCE).delete()
    client = Client()
    client.force_login(make_user("copier", apps=[APP, *targets]))
    return client, targets


def test_a_copy_into_more_apps_than_the_budget_allows_sends_nothing_and_says_how_many_can_go(
    four_target_apps, fault_proxy, settings
):
    """Copying into N apps costs N writes, all reserved before the first is sent, with the ticks kept."""
    client, targets = four_target_apps
    settings.WRITE_RATE_LIMIT = "3/h"  # an hour: a test never straddles the window
    url = reverse("metric_copy", args=[APP, COPY_SOURCE])
    fault_proxy.clear()
    response = client.post(url, {"apps": targets, "stage": "confirm"})
    page = response.content.decode()
    assert "You can copy to 3 more apps right now. Untick some apps, or wait a minute." in page
    assert fault_proxy.count("POST") == 0
    assert not CustomMetric.objects.filter(name=COPY_SOURCE, app__app_id__in=targets).exists()
    assert all(f'name="apps" value="{app_id}"' in page for app_id in targets)  # the choice is kept
    assert 'value="confirm"' in page

    chooser = client.post(url, {"apps": targets, "stage": "choose"}).content.decode()
    assert all(f'value="{app_id}" checked' in chooser for app_id in targets)  # untick from there

    done = client.post(url, {"apps": targets[:3], "stage": "confirm"}).content.decode()
    assert done.count("Created.") == 3 and fault_proxy.count("POST") == 3
    # The three copies used the whole budget: a single create is now refused.
    refused = client.post(reverse("metric_create", args=[APP]), create_form("after_copy"))
    assert refused.status_code == 429 and fault_proxy.count("POST") == 3


def test_a_copy_when_no_write_is_left_says_nothing_was_copied(four_target_apps, fault_proxy, settings):
    client, targets = four_target_apps
    settings.WRITE_RATE_LIMIT = "1/h"
    assert client.post(CREATE, create_form("uses_the_budget")).status_code == 302
    url = reverse("metric_copy", args=[APP, COPY_SOURCE])
    page = client.post(url, {"apps": targets[:1], "stage": "confirm"}).content.decode()
    assert "so nothing was copied. Please wait a minute and try again." in page
    assert fault_proxy.count("POST") == 1


def test_create_replace_copy_and_delete_all_stop_at_the_limit(signed_in_client, fault_proxy, settings):
    """Each way a person can change a metric upstream, tried with the budget spent: none reaches Embrace."""
    settings.WRITE_RATE_LIMIT = "1/h"
    assert signed_in_client.post(CREATE, create_form("the_one_write")).status_code == 302
    CustomMetric.objects.filter(app__app_id="appID2", name="the_one_write").delete()
    fault_proxy.clear()
    attempts = {
        "create": (CREATE, create_form("second_write")),
        "replace": (CREATE, create_form("the_one_write_v2", replaces="the_one_write")),
        "copy": (
            reverse("metric_copy", args=[APP, "the_one_write"]),
            {"apps": ["appID2"], "stage": "confirm"},
        ),
        "delete": (reverse("metric_delete", args=[APP, "the_one_write"]), {"confirm_name": "the_one_write"}),
    }
    for what, (url, data) in attempts.items():
        page = signed_in_client.post(url, data).content.decode()
        assert "a lot of changes in a short time" in page, what
    assert [r.method for r in fault_proxy.requests if r.method != "GET"] == []
    assert CustomMetric.objects.filter(app__app_id=APP, name="the_one_write").exists()


def _write_methods() -> set[str]:
    """The upstream client's methods that send anything but a GET."""
    verbs = re.compile(r'"(POST|PUT|PATCH|DELETE)"')
    return {
        name
        for name, function in inspect.getmembers(upstream.Client, inspect.isfunction)
        if verbs.search(inspect.getsource(function))
    }


def test_every_upstream_write_is_reached_only_through_a_reservation():
    """The write calls appear in ``metrics/writes`` (create once, delete once), which only the budget's
    reservation calls after counting; a view (or anything added later) that calls either fails here."""
    writes = _write_methods()
    assert {"create_metric", "delete_metric"} <= writes
    once = {"create_once", "delete_once"}
    root = Path(metrics_ui.__file__).parent
    callers: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        if path.name == "upstream.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "attr", None) or getattr(node, "id", None)
            if name in writes | once and not isinstance(node, ast.FunctionDef):
                callers.setdefault(str(path.relative_to(root)), set()).add(name)
    assert set(callers) <= {"metrics/writes.py", "metrics/budget.py"}, callers
    assert callers.get("metrics/writes.py", set()) <= writes
    assert callers.get("metrics/budget.py", set()) <= once


# --- JSON a person pastes or Embrace sends: bounded before it is parsed ---------------------------


def test_pasted_json_ten_thousand_levels_deep_is_explained_with_where_not_a_500(signed_in_client):
    text = "[" * 10_000 + "]" * 10_000
    response = signed_in_client.post(CREATE, create_form(json_import=text, action="import_json"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "This JSON is nested more than 64 levels deep (at line 1, column 65)" in page
    assert 'value="sessions_by_version"' in page  # the rest of the form is kept
    assert text[:200] in page  # and so is what was pasted


def test_pasted_json_with_a_five_thousand_digit_number_is_explained_not_a_500(signed_in_client):
    text = (
        '{"op": "and", "children": [\n  {"key": "app_version", "field_op": "eq", "val": ' + "7" * 5000 + "}]}"
    )
    response = signed_in_client.post(CREATE, create_form(json_import=text, action="import_json"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "A number in this JSON has more than 100 digits (at line 2, column 51)" in page
    assert 'value="sessions_by_version"' in page


@pytest.mark.parametrize(
    "body",
    [
        b'{"results": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"results": [{"name": ' + b"9" * 5000 + b"}]}",
    ],
    ids=["ten thousand levels", "five thousand digits"],
)
def test_a_pathological_upstream_body_is_an_unexpected_answer_not_a_500(
    signed_in_client, fault_upstream, fast_upstream_settings, body
):
    fault_upstream.respond(200, body=body, headers={"Content-Type": "application/json"})
    response = signed_in_client.get(reverse("metric_list", args=[APP]))
    assert response.status_code == 200
    assert "Embrace answered in an unexpected way" in response.content.decode()
