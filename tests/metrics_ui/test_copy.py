"""Copying a metric to other apps over the live sandbox: a pre-flight table, nothing sent before
confirming, then the result per app (one app forbidden, one in conflict)."""

from django.urls import reverse

from sandbox.models import App, CustomMetric

SOURCE = "sessions_total_v1"


def test_copy_checks_each_app_first_and_creates_only_where_it_can(client, make_user, seed, fault_proxy):
    original = CustomMetric.objects.get(app__app_id="appID1", name=SOURCE)
    App.objects.get_or_create(app_id="appID3", defaults={"organization": original.app.organization})
    client.force_login(make_user("copier", apps=[*seed["apps"], seed["other_app"], "appID3"]))
    url = reverse("metric_copy", args=["appID1", SOURCE])
    # appID2 gets a different metric under the same name: a conflict the copy must not touch.
    CustomMetric.objects.filter(app__app_id="appID2", name=SOURCE).delete()
    CustomMetric.objects.create(
        app=App.objects.get(app_id="appID2"),
        name=SOURCE,
        metric="crashes_total",
        group_by=[],
        time_granularity=["daily"],
        data_destination=["metrics_api"],
    )

    page = client.get(url).content.decode()
    assert 'value="appID2"' in page and 'value="otherOrgApp"' in page and 'value="appID1"' not in page

    fault_proxy.clear()
    apps = ["appID2", "otherOrgApp", "appID3"]
    plan = client.post(url, {"apps": apps, "stage": "check"}).content.decode()
    assert fault_proxy.count("POST") == 0  # nothing sent before the person confirms
    assert "exists there with different settings" in plan
    assert "Can't be copied: Your token for this app was refused by Embrace." in plan
    assert "Will be created" in plan

    result = client.post(url, {"apps": apps, "stage": "confirm"}).content.decode()
    assert fault_proxy.count("POST") == 1
    assert "Created." in result
    copy = CustomMetric.objects.get(app__app_id="appID3", name=SOURCE)
    assert (copy.metric, copy.filters, copy.group_by) == (
        original.metric,
        original.filters,
        original.group_by,
    )
    assert CustomMetric.objects.get(app__app_id="appID2", name=SOURCE).metric == "crashes_total"


def test_a_copy_link_whose_name_is_free_text_is_a_plain_404_that_does_not_repeat_it(
    signed_in_client, fault_proxy
):
    url = reverse("metric_copy", args=["appID1", "Your account is locked, call 555-0100"])
    response = signed_in_client.get(url)
    assert response.status_code == 404
    assert "Your account is locked" not in response.content.decode()
    assert fault_proxy.count() == 0  # no metric can have that name: Embrace isn't asked
