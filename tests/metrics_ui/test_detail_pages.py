"""The detail page of one metric, over the live sandbox: every field in words, the series it
produces in the Metrics API with a PromQL query, copy-as-curl without the token, and the stored JSON."""

import html as html_lib
import json
import re

from django.urls import reverse

from metrics_ui.models import User
from tests.markup import has


def detail(client, app_id: str, name: str):
    return client.get(reverse("metric_detail", args=[app_id, name]))


def test_every_field_is_in_plain_words(signed_in_client):
    html = detail(signed_in_client, "appID1", "sessions_total_v1").content.decode()
    assert has(html, "h1", class_="metric-name") and ">sessions_total_v1</h1>" in html
    assert "Session count" in html and "Number of sessions." in html  # display name and description
    assert "<code>sessions_total</code>" in html
    assert "No filters" in html
    assert "app version" in html
    assert "Every 5 minutes, Hourly" in html
    assert "Embrace Metrics API, Datadog, Grafana Cloud" in html


def test_filters_read_as_a_sentence(signed_in_client):
    html = detail(signed_in_client, "appID1", "crash_count_by_version").content.decode()
    definition = re.search(r"<dt>Filters</dt>\s*<dd>(.*?)</dd>", html, re.S).group(1)
    assert "OutOfMemory" in definition and "15" in definition
    assert "{" not in definition  # words, not JSON


def test_series_names_labels_and_a_promql_query(signed_in_client):
    html = detail(signed_in_client, "appID1", "sessions_total_v1").content.decode()
    assert "<code>five_minute_sessions_total_v1</code>" in html
    assert "<code>hourly_sessions_total_v1</code>" in html
    assert "<code>app_id</code>, <code>app_version</code>" in html
    promql = html_lib.unescape(re.search(r'<pre id="promql"[^>]*><code>(.*?)</code>', html, re.S).group(1))
    assert promql == 'sum by (app_version) (hourly_sessions_total_v1{app_id="appID1"})'
    assert 'data-copy="promql"' in html


def test_property_group_bys_become_their_bare_key_as_labels(signed_in_client):
    html = detail(signed_in_client, "appID1", "paid_user_adoption").content.decode()
    assert "<code>daily_paid_user_adoption</code>" in html
    assert "<code>app_id</code>, <code>plan</code>, <code>country</code>" in html
    promql = html_lib.unescape(re.search(r'<pre id="promql"[^>]*><code>(.*?)</code>', html, re.S).group(1))
    assert promql == 'sum by (plan, country) (daily_paid_user_adoption{app_id="appID1"})'


def test_copy_as_curl_uses_the_region_url_and_a_token_placeholder(signed_in_client, sandbox_url, seed):
    html = detail(signed_in_client, "appID1", "sessions_total_v1").content.decode()
    curl_list = html_lib.unescape(
        re.search(r'<pre id="curl-list"[^>]*><code>(.*?)</code>', html, re.S).group(1)
    )
    curl_delete = html_lib.unescape(
        re.search(r'<pre id="curl-delete"[^>]*><code>(.*?)</code>', html, re.S).group(1)
    )
    assert f"{sandbox_url}/api/v1/app/appID1/custom-metrics" in curl_list
    assert "--request DELETE" in curl_delete
    assert f"{sandbox_url}/api/v1/app/appID1/custom-metrics/sessions_total_v1" in curl_delete
    assert 'Bearer $EMBRACE_TOKEN"' in curl_list and 'Bearer $EMBRACE_TOKEN"' in curl_delete
    assert seed["token"] not in html and seed["token"][-8:] not in html


def test_the_stored_json_is_shown_pretty_in_a_details_element(signed_in_client):
    html = detail(signed_in_client, "appID1", "sessions_total_v1").content.decode()
    stored = re.search(
        r"<details>\s*<summary>Stored definition \(JSON\)</summary>.*?<code>(.*?)</code>", html, re.S
    )
    data = json.loads(html_lib.unescape(stored.group(1)))
    assert data["name"] == "sessions_total_v1" and data["app_id"] == "appID1"
    assert data["time_granularity"] == ["five_minute", "hourly"] and len(data["custom_metric_id"]) == 7
    assert '\n  "name"' in html_lib.unescape(stored.group(1))  # indented, not one long line


def test_editors_get_delete_and_copy_actions(signed_in_client):
    html = detail(signed_in_client, "appID1", "sessions_total_v1").content.decode()
    delete_url = reverse("metric_delete", args=["appID1", "sessions_total_v1"])
    assert f'href="{delete_url}"' in html and f'hx-get="{delete_url}"' in html
    assert f"{reverse('metric_create', args=['appID1'])}?copy_of=sessions_total_v1" in html
    assert f"{reverse('metric_create', args=['appID1'])}?replace=sessions_total_v1" in html
    assert reverse("metric_copy", args=["appID1", "sessions_total_v1"]) in html
    assert has(html, "div", id="delete-dialog")


def test_viewers_read_everything_but_get_no_change_actions(client, make_user):
    client.force_login(make_user("viewer", role=User.Role.VIEWER))
    html = detail(client, "appID1", "sessions_total_v1").content.decode()
    assert "hourly_sessions_total_v1" in html
    assert reverse("metric_delete", args=["appID1", "sessions_total_v1"]) not in html
    assert "copy_of=" not in html


def test_a_metric_that_is_not_there_gets_a_friendly_404(signed_in_client):
    response = detail(signed_in_client, "appID1", "never_existed")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This metric doesn't exist" in html and "may have been deleted" in html
    assert f'href="{reverse("metric_list", args=["appID1"])}"' in html


def test_a_name_no_metric_can_have_is_the_same_404_without_asking_embrace(signed_in_client, fault_proxy):
    response = detail(signed_in_client, "appID1", "bad-name.with.dots")
    assert response.status_code == 404
    assert "This metric doesn't exist" in response.content.decode()
    assert fault_proxy.count() == 0


def test_a_refused_token_shows_the_banner_on_the_detail_page(client, make_user, seed):
    client.force_login(make_user("other-org", apps=[seed["other_app"]]))
    response = detail(client, seed["other_app"], "anything")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert reverse("token_list") in response.content.decode()


def test_embrace_failing_on_the_detail_page_is_a_banner_with_retry(
    signed_in_client, fault_upstream, fast_upstream_settings
):
    fault_upstream.respond(503, "<html>bad gateway</html>")
    response = detail(signed_in_client, "appID1", "sessions_total_v1")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and "Try again" in html and response["X-Request-ID"] in html


def test_a_link_to_a_metric_with_free_text_for_a_name_does_not_repeat_it(signed_in_client):
    """A crafted link's sentence is not printed inside the console's page; a real name would be."""
    response = detail(signed_in_client, "appID1", "Your account is locked, call 555-0100")
    html = response.content.decode()
    assert response.status_code == 404
    assert "has no custom metric with that name" in html
    assert "Your account is locked" not in html
    assert (
        "named <strong>never_existed</strong>"
        in detail(signed_in_client, "appID1", "never_existed").content.decode()
    )
