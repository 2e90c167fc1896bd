"""Deleting a metric with a typed confirmation, over the live sandbox: the dialog and the page, the
wrong name, success, already deleted, and each failure explained with the typed name kept."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from metrics_ui.models import ApiToken, AuditRecord, User
from sandbox.models import CustomMetric

DIALOG = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "div#delete-dialog"}
NAME = "crash_count_by_version"


def delete_url(name: str = NAME, app_id: str = "appID1") -> str:
    return reverse("metric_delete", args=[app_id, name])


def exists(name: str = NAME, app_id: str = "appID1") -> bool:
    return CustomMetric.objects.filter(app__app_id=app_id, name=name).exists()


def audit_outcomes() -> list[tuple]:
    return list(
        AuditRecord.objects.filter(action="metric.delete").values_list("metric", "upstream_status", "outcome")
    )


def test_the_page_without_javascript_names_the_metric_the_app_and_what_stops(signed_in_client):
    response = signed_in_client.get(delete_url())
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert f"Delete “{NAME}”?" in html and "from app <strong>appID1</strong>" in html
    assert "get no new points" in html and "Forwarding" in html and "can't undo" in html
    assert (
        f'<label for="id_confirm_name">Type <strong class="typed-name">{NAME}</strong> to confirm</label>'
        in html
    )
    assert 'method="post"' in html and "hx-post" not in html
    assert exists()  # GET never deletes


def test_htmx_gets_only_the_dialog_which_posts_back_into_itself(signed_in_client):
    html = signed_in_client.get(delete_url(), **DIALOG).content.decode()
    assert html.lstrip().startswith('<dialog id="delete-dialog" data-modal')
    assert "<html" not in html
    assert f'hx-post="{delete_url()}" hx-target="#delete-dialog"' in html
    assert '<form method="dialog">' in html  # cancel closes it without script


def test_head_never_deletes(signed_in_client):
    signed_in_client.head(delete_url())
    assert exists()


def test_a_wrong_name_is_refused_on_the_field_and_what_was_typed_is_kept(signed_in_client, fault_proxy):
    response = signed_in_client.post(delete_url(), {"confirm_name": "Crash_Count_By_Version"}, **DIALOG)
    html = response.content.decode()
    assert response.status_code == 200
    assert "That isn&#x27;t the metric&#x27;s name" in html or "That isn't the metric's name" in html
    assert 'aria-invalid="true"' in html and 'value="Crash_Count_By_Version"' in html
    assert exists() and fault_proxy.count() == 0  # nothing sent to Embrace
    assert audit_outcomes() == []


def test_deleting_goes_back_to_the_list_with_a_success_message(signed_in_client):
    response = signed_in_client.post(delete_url(), {"confirm_name": NAME})
    assert response.status_code == 302 and response["Location"] == reverse("metric_list", args=["appID1"])
    assert not exists()
    page = signed_in_client.get(response["Location"]).content.decode()
    assert f"Deleted “{NAME}” from appID1" in page and "flash-success" in page
    assert f">{NAME}</a>" not in page
    assert audit_outcomes() == [(NAME, 204, "deleted")]


def test_deleting_from_the_dialog_sends_the_whole_browser_to_the_list(signed_in_client):
    response = signed_in_client.post(delete_url(), {"confirm_name": NAME}, **DIALOG)
    assert response["HX-Redirect"] == reverse("metric_list", args=["appID1"])
    assert not exists()
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["success"]


def test_a_metric_that_was_already_deleted_is_reported_as_such(signed_in_client):
    CustomMetric.objects.filter(app__app_id="appID1", name=NAME).delete()
    response = signed_in_client.post(delete_url(), {"confirm_name": NAME}, follow=True)
    html = response.content.decode()
    assert f"“{NAME}” was already deleted" in html and "flash-info" in html
    assert audit_outcomes() == [(NAME, 404, "already_deleted")]


def test_a_refused_token_is_explained_with_a_retry_and_the_typed_name_kept(client, make_user, seed):
    client.force_login(make_user("other-org", apps=[seed["other_app"]]))
    response = client.post(
        delete_url("some_metric", seed["other_app"]), {"confirm_name": "some_metric"}, **DIALOG
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<dialog")
    assert 'role="alert"' in html and reverse("token_list") in html
    assert "Nothing was deleted" in html and 'value="some_metric"' in html
    assert audit_outcomes() == [("some_metric", 403, "failed")]


@pytest.mark.parametrize(
    ("fault", "status"),
    [("500", 500), ("hang", None), ("reset", None)],
    ids=["server-error", "timeout", "connection-reset"],
)
def test_embrace_failing_is_explained_and_nothing_is_lost(
    signed_in_client, fault_upstream, fast_upstream_settings, fault, status
):
    if fault == "500":
        fault_upstream.respond(500, {"message": "we had an internal error, please try again later"})
    elif fault == "hang":
        fault_upstream.hang()
    else:
        fault_upstream.reset()
    response = signed_in_client.post(delete_url(), {"confirm_name": NAME})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'role="alert"' in html and response["X-Request-ID"] in html
    # A timeout or a reset may hide a delete that was carried out; the look-up failed the same way, so the
    # page says it can't tell rather than "nothing was deleted".
    unsure = fault != "500"
    assert ("It may already be deleted" in html) is unsure
    assert ("Nothing was deleted" in html) is not unsure
    assert f'value="{NAME}"' in html
    assert exists()  # the fault server stood in for Embrace; the sandbox was never asked
    assert audit_outcomes() == [(NAME, status, "failed")]


def test_an_open_circuit_answers_at_once_with_the_time_to_retry(
    signed_in_client, fault_upstream, fast_upstream_settings
):
    fast_upstream_settings.UPSTREAM_BREAKER_RESET_SECONDS = 60
    fault_upstream.respond(503)
    for _ in range(3):
        signed_in_client.get(reverse("metric_list", args=["appID1"]))
    fault_upstream.clear()
    response = signed_in_client.post(delete_url(), {"confirm_name": NAME}, **DIALOG)
    assert 'role="alert"' in response.content.decode()
    assert fault_upstream.count() == 0


def test_viewers_cannot_open_or_post_the_delete(client, make_user):
    client.force_login(make_user("viewer", role=User.Role.VIEWER))
    assert client.get(delete_url()).status_code == 403
    assert client.post(delete_url(), {"confirm_name": NAME}).status_code == 403
    assert exists()


def test_an_app_none_of_my_tokens_manages_is_a_404(signed_in_client, seed):
    assert signed_in_client.get(delete_url(app_id="someoneElsesApp")).status_code == 404
    assert (
        signed_in_client.post(delete_url(app_id="someoneElsesApp"), {"confirm_name": NAME}).status_code == 404
    )


def test_an_unreadable_token_asks_to_enter_it_again_and_deletes_nothing(client, demo_user):
    ApiToken.objects.filter(user=demo_user).update(ciphertext="gAAAAAnot-a-token-any-key-can-read")
    client.force_login(demo_user)
    response = client.post(delete_url(), {"confirm_name": NAME}, **DIALOG)
    html = response.content.decode()
    assert response.status_code == 200 and "Please enter it again" in html
    assert reverse("token_replace", args=[ApiToken.objects.get(user=demo_user).pk]) in html
    assert exists()
    assert audit_outcomes() == [(NAME, None, "failed")]
