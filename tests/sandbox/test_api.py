"""The sandbox over real HTTP: the documented examples, every status code, and every error body."""

import json

import pytest
import requests
from django.core.management import call_command

from sandbox.models import Organization, Token
from tests.sandbox.cases import BAD_BODIES, VALID, body, cond, where

DOC_CREATE = {
    "name": "sessions_total_v3",
    "metric": "sessions_total",
    "group_by": ["app_version"],
    "filters": {"op": "and", "children": [{"field_op": "eq", "key": "os_version", "val": "12"}]},
    "time_granularity": ["five_minute", "hourly"],
}
DOC_LISTED = {
    "app_id": "appID1",
    "name": "sessions_total_v1",
    "metric": "sessions_total",
    "filters": {},
    "group_by": ["app_version"],
    "time_granularity": ["five_minute", "hourly"],
    "data_destination": ["metrics_api", "datadog", "grafana_cloud"],
}


def message(response: requests.Response) -> str:
    """The error message, after checking the body is exactly {"message": "<non-empty text>"}."""
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    assert set(payload) == {"message"}
    assert isinstance(payload["message"], str) and payload["message"].strip()
    return payload["message"]


# --- The documentation's examples, replayed ------------------------------------------------------


def test_documented_create_example_answers_200_with_the_stored_object(api):
    """The create curl from the docs answers 200 with the documented body, plus a 7-char id."""
    response = api.http.post(
        api.url(),
        data=json.dumps(DOC_CREATE, indent=4),
        headers={**api.auth(), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    created = response.json()
    custom_metric_id = created.pop("custom_metric_id")
    assert len(custom_metric_id) == 7 and custom_metric_id.isalnum() and custom_metric_id.isascii()
    assert created == {**DOC_CREATE, "app_id": "appID1", "data_destination": ["metrics_api"]}


def test_documented_list_example_answers_200_with_results(api):
    """The list curl from the docs answers {"results": [...]} including the documented metric."""
    response = api.http.get(api.url(), headers=api.auth(), timeout=10)
    assert response.status_code == 200
    results = response.json()["results"]
    listed = next(m for m in results if m["name"] == "sessions_total_v1")
    assert {k: v for k, v in listed.items() if k != "custom_metric_id"} == DOC_LISTED
    assert set(response.json()) == {"results"}


def test_documented_delete_example_answers_204_then_404(api):
    """DELETE of sessions_total_v1 answers 204 with no body; again, 404 with the documented message."""
    first = api.delete("sessions_total_v1")
    assert first.status_code == 204
    assert first.content == b""
    assert "sessions_total_v1" not in api.names()
    again = api.delete("sessions_total_v1")
    assert again.status_code == 404
    assert message(again) == "metric sessions_total_v1 doesn't exist"


def test_documented_parameters_example_answers_one_metric_or_all(api):
    """?name=sessions_total gives that metric alone; a missing or unknown name gives all 14."""
    one = api.get(suffix="/parameters", params={"name": "sessions_total"})
    assert one.status_code == 200
    [sessions] = one.json()
    assert sessions["metric"] == "sessions_total"
    assert {"name": "has_anr", "supported_ops": ["eq"], "type": "boolean"} in sessions["filters"]
    assert "five_minute" in sessions["time_granularity"]
    assert sessions["data_destination"] == ["metrics_api", "newrelic", "datadog", "grafana_cloud"]
    for params in ({}, {"name": "no_such_metric"}, {"name": ""}):
        everything = api.get(suffix="/parameters", params=params)
        assert everything.status_code == 200
        assert len(everything.json()) == 14


def test_documented_empty_app_id_answers_400(api):
    """An empty app id answers 400 {"message": "app id can't be empty"} on every endpoint."""
    assert message(api.get(app_id="")) == "app id can't be empty"
    assert api.get(app_id="").status_code == 400
    assert api.post(VALID, app_id="").status_code == 400
    assert api.delete("x", app_id="").status_code == 400
    assert api.get(app_id="", suffix="/parameters").status_code == 400


# --- Create -------------------------------------------------------------------------------------


def test_create_echoes_the_defaults_and_lists_in_creation_order(api):
    """Defaults are stored and echoed; new metrics are listed after the existing ones, in order."""
    before = api.names()
    for name in ("zeta_metric", "alpha_metric"):
        response = api.post({"name": name, "metric": "crashes_total"})
        assert response.status_code == 200
        assert response.json()["time_granularity"] == ["hourly"]
        assert response.json()["data_destination"] == ["metrics_api"]
        assert response.json()["group_by"] == [] and response.json()["filters"] == {}
    assert api.names() == [*before, "zeta_metric", "alpha_metric"]


NESTED = body(
    name="nested_filters",
    filters=where(
        cond("has_anr", "eq", False),
        where(
            cond("os_major_version", "in", [16, 17]),
            cond("session_property", "eq", {"property_key": "plan", "property_values": ["pro"]}),
            op="or",
        ),
    ),
    group_by=["session_property.plan"],
    time_granularity=["daily", "five_minute"],
    data_destination=["grafana_cloud", "metrics_api"],
)


def test_create_keeps_nested_or_filters_and_property_group_bys(api):
    """A nested and/or tree with property filters and a dotted group-by is stored as sent."""
    definition = NESTED
    response = api.post(definition)
    assert response.status_code == 200
    stored = next(m for m in api.get().json()["results"] if m["name"] == "nested_filters")
    assert {k: stored[k] for k in definition} == definition


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in BAD_BODIES], ids=[c for c, _, _ in BAD_BODIES]
)
def test_bad_body_answers_400_naming_the_field(api, body, field):
    """Every broken rule answers 400 with a message naming the field, and nothing is stored."""
    before = api.names()
    response = api.http.post(
        api.url(),
        data=json.dumps(body),
        headers={**api.auth(), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert field in message(response)
    assert api.names() == before


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"{name: 'x'}", "not valid JSON"),
        (b'{"name": "x",}', "not valid JSON"),
        (b'{"name": NaN}', "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 30000 + b"]" * 30000, "not valid JSON"),
        (b"name=x&metric=sessions_total", "not valid JSON"),
    ],
    ids=["empty", "blank", "js object", "trailing comma", "NaN", "bad utf-8", "deep nesting", "form-encoded"],
)
def test_body_that_is_not_json_answers_400(api, raw, expected):
    """A body that isn't JSON answers 400 saying so (never 500), whatever its bytes."""
    response = api.http.post(api.url(), data=raw, headers=api.auth(), timeout=10)
    assert response.status_code == 400
    assert expected in message(response)


def test_body_over_the_size_cap_answers_413(api):
    """A body over 64 KB is refused with 413 and a JSON message, before it is parsed."""
    huge = body(filters=where(cond("os_version", "eq", "x" * (70 * 1024))))
    response = api.post(huge)
    assert response.status_code == 413
    assert "64 KB" in message(response)
    assert api.names().count("ok_metric") == 0


def test_duplicate_name_answers_409_and_keeps_the_first(api):
    """A second create with the same name in the same app answers 409; the first one is kept."""
    assert api.post(body(name="dup_metric", metric="crashes_total")).status_code == 200
    again = api.post(body(name="dup_metric", metric="logs_total"))
    assert again.status_code == 409
    assert "dup_metric" in message(again) and "already exists" in message(again)
    stored = [m for m in api.get().json()["results"] if m["name"] == "dup_metric"]
    assert [m["metric"] for m in stored] == ["crashes_total"]


def test_same_name_in_another_app_is_fine(api):
    """Names are unique per app: the same name in appID2 is created."""
    assert api.post(body(name="shared_name")).status_code == 200
    assert api.post(body(name="shared_name"), app_id="appID2").status_code == 200
    assert api.names("appID2") == ["shared_name"]


def test_names_are_case_sensitive(api):
    """sessions_total_v1 and Sessions_Total_V1 are different names."""
    assert api.post(body(name="Sessions_Total_V1")).status_code == 200


# --- Delete -------------------------------------------------------------------------------------


def test_delete_removes_only_that_app_s_metric(api):
    """Deleting a name in appID1 leaves the same name in appID2 alone."""
    api.post(body(name="twin"))
    api.post(body(name="twin"), app_id="appID2")
    assert api.delete("twin").status_code == 204
    assert "twin" not in api.names()
    assert api.names("appID2") == ["twin"]


@pytest.mark.parametrize("name", ["no_such_metric", "bad-name", "x" * 300, "%00", "caf%C3%A9"])
def test_delete_of_a_missing_or_impossible_name_answers_404(api, name):
    """A name that doesn't exist (or can't) answers 404 "metric <name> doesn't exist"."""
    response = api.delete(name)
    assert response.status_code == 404
    assert message(response).startswith("metric ") and message(response).endswith(" doesn't exist")


def test_a_metric_named_parameters_can_be_deleted(api):
    """DELETE …/parameters deletes the metric named "parameters"; GET there still lists the catalog."""
    assert api.post(body(name="parameters")).status_code == 200
    assert api.get(suffix="/parameters").status_code == 200
    assert api.delete("parameters").status_code == 204
    assert api.delete("parameters").status_code == 404


def test_empty_name_in_delete_answers_400(api):
    """DELETE with an empty name answers 400."""
    response = api.delete("")
    assert response.status_code == 400
    assert "name can't be empty" in message(response)


# --- Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Token 1b6be81cd01c4b08833295efadccafdc"},
    ],
    ids=["no header", "empty header", "bearer without token", "wrong scheme"],
)
def test_missing_token_answers_403(api, headers):
    """Without a bearer token every endpoint answers 403 with a message."""
    for response in (
        api.get(headers=headers),
        api.post(VALID, headers=headers),
        api.delete("sessions_total_v1", headers=headers),
        api.get(suffix="/parameters", headers=headers),
    ):
        assert response.status_code == 403
        assert "Authorization" in message(response)
    assert "sessions_total_v1" in api.names()


def test_unknown_token_answers_403(api):
    """A token the sandbox never issued answers 403."""
    response = api.get(headers=api.auth("0" * 32))
    assert response.status_code == 403
    assert "token is not valid" in message(response)


def test_revoked_token_answers_403(api):
    """Once revoked, a token answers 403 on every endpoint."""
    _, raw = Token.mint(Token.objects.get(prefix="1b6b").organization, label="to revoke")
    assert api.get(headers=api.auth(raw)).status_code == 200
    call_command("sandbox_token", "revoke", "--token", raw)
    for response in (
        api.get(headers=api.auth(raw)),
        api.post(body(name="after_revoke"), headers=api.auth(raw)),
        api.delete("sessions_total_v1", headers=api.auth(raw)),
    ):
        assert response.status_code == 403
    assert "after_revoke" not in api.names()


def test_token_is_refused_on_another_organization_s_app(api):
    """The demo token gets 403 on the other organization's app, and changes nothing there."""
    for response in (
        api.get(app_id=api.other_app),
        api.post(body(name="intruder"), app_id=api.other_app),
        api.delete("anything", app_id=api.other_app),
        api.get(app_id=api.other_app, suffix="/parameters"),
    ):
        assert response.status_code == 403
        assert api.other_app in message(response)


def test_unknown_app_answers_like_a_forbidden_one(api):
    """An app that doesn't exist answers the same 403 as another organization's app (no probing)."""
    unknown = api.get(app_id="noSuchApp")
    forbidden = api.get(app_id=api.other_app)
    assert unknown.status_code == forbidden.status_code == 403
    assert message(unknown).replace("noSuchApp", "X") == message(forbidden).replace(api.other_app, "X")


def test_other_organization_s_token_works_on_its_own_app(api):
    """A token minted for the other organization manages its app and not the demo apps."""
    _, raw = Token.mint(Organization.objects.get(apps__app_id=api.other_app))
    assert api.post(body(name="theirs"), app_id=api.other_app, headers=api.auth(raw)).status_code == 200
    assert api.get(headers=api.auth(raw)).status_code == 403


# --- Routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "allow"),
    [
        ("PUT", "", "GET, POST"),
        ("PATCH", "", "GET, POST"),
        ("DELETE", "", "GET, POST"),
        ("GET", "/sessions_total_v1", "DELETE"),
        ("POST", "/sessions_total_v1", "DELETE"),
        ("POST", "/parameters", "GET, DELETE"),
    ],
)
def test_wrong_method_answers_405_with_allow(api, method, suffix, allow):
    """A method the endpoint doesn't offer answers 405 JSON with an Allow header."""
    response = api.http.request(method, api.url(suffix=suffix), headers=api.auth(), timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert method in message(response)


@pytest.mark.parametrize(
    "path",
    ["", "api/v1/app/appID1", "api/v1/app/appID1/custom-metrics/a/b", "api/v2/app/appID1/custom-metrics"],
)
def test_unknown_path_answers_json_404(api, path):
    """Any other path under /custom-metrics/ answers 404 JSON, not an HTML page."""
    response = api.http.get(f"{api.base}/{path}", headers=api.auth(), timeout=10)
    assert response.status_code == 404
    assert "no endpoint" in message(response)


def test_openapi_document_is_served_without_a_token(api):
    """GET /custom-metrics/openapi.json answers the OpenAPI document, no token needed."""
    response = api.http.get(f"{api.base}/openapi.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/app/{app_id}/custom-metrics" in document["paths"]


def test_sandbox_is_mounted_under_custom_metrics_by_the_project(settings):
    """dashboard/urls.py mounts the sandbox at /custom-metrics/ when SANDBOX_ENABLED."""
    from django.urls import clear_url_caches, resolve

    settings.ROOT_URLCONF = "dashboard.urls"
    clear_url_caches()
    assert resolve("/custom-metrics/api/v1/app/appID1/custom-metrics").url_name == "sandbox_custom_metrics"


def test_list_repeats_exactly_what_each_create_echoed(api):
    """Every listed metric is, field for field, the object its create answered, defaults included."""
    shapes = [
        body(name="only_defaults"),
        body(
            name="unicode_and_numbers",
            metric="crashes_total",
            filters=where(cond("msg", "like", 'Überlauf "quoted" \\ ✓'), cond("os_major_version", "gte", 15)),
            group_by=["app_version", "os_major_version"],
        ),
        NESTED,
    ]
    echoed = []
    for shape in shapes:
        response = api.post(shape)
        assert response.status_code == 200, response.text
        echoed.append(response.json())
    listed = api.get()
    assert listed.headers["Content-Type"] == "application/json"
    results = listed.json()["results"]
    assert results[-len(shapes) :] == echoed
    assert [list(m) for m in results[-len(shapes) :]] == [list(m) for m in echoed]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "nested more than 64 levels deep (at line 1, column 65)"),
        (b'{"name": "x", "metric": ' + b"7" * 5000 + b"}", "has more than 100 digits (at line 1, column 25)"),
    ],
    ids=["ten thousand levels", "five thousand digits"],
)
def test_a_body_too_deep_or_with_a_huge_number_answers_400_saying_which(api, raw, expected):
    """Checked before parsing: the client learns what is wrong and where, and the server never errs."""
    response = api.http.post(api.url(), data=raw, headers=api.auth(), timeout=10)
    assert response.status_code == 400
    assert expected in message(response)
