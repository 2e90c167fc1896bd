"""The metric list of one app, over the live sandbox: plain-language rows, search, sort, pages,
empty states, and a banner (never a 500) when Embrace or the saved token fails."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from metrics_ui.models import ApiToken, MetricNote, User
from sandbox.models import App, CustomMetric
from tests.markup import has

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "div#metric-table"}  # htmx 4 names the target tag#id


def names(html: str) -> list[str]:
    """The metric names in the table, in the order shown."""
    return re.findall(r'<th scope="row"><a href="[^"]*">([^<]+)</a></th>', html)


def row(html: str, name: str) -> str:
    match = re.search(rf'<tr>\s*<th scope="row"><a href="[^"]*">{name}</a></th>.*?</tr>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def add_metrics(app_id: str, count: int) -> None:
    """Put ``count`` metrics straight into the sandbox's database (the API would take minutes)."""
    app = App.objects.get(app_id=app_id)
    metrics = ["sessions_total", "crashes_total", "network_requests_total", "logs_total"]
    CustomMetric.objects.bulk_create(
        CustomMetric(
            app=app,
            name=f"bulk_{i:05d}",
            metric=metrics[i % len(metrics)],
            group_by=["app_version"] if i % 2 else [],
            time_granularity=["hourly"],
            data_destination=["metrics_api"],
        )
        for i in range(count)
    )


def test_each_metric_is_a_row_in_plain_words_with_a_link_to_its_page(signed_in_client):
    html = signed_in_client.get(reverse("metric_list", args=["appID1"])).content.decode()
    first = row(html, "sessions_total_v1")
    assert reverse("metric_detail", args=["appID1", "sessions_total_v1"]) in first
    assert "Session count" in first  # the base metric by its display name, not sessions_total
    assert "app version" in first
    assert "Every 5 minutes, Hourly" in first
    assert "Embrace Metrics API, Datadog, Grafana Cloud" in first
    assert "No filters" in first
    crash = row(html, "crash_count_by_version")
    assert "Crash count" in crash and "OutOfMemory" in crash and "15" in crash


def test_the_list_is_one_upstream_request_per_page_view(signed_in_client, fault_proxy):
    signed_in_client.get(reverse("metric_list", args=["appID1"]))
    signed_in_client.get(reverse("metric_list", args=["appID1"]), {"q": "crash", "page": "1"}, **HTMX)
    assert [r.method for r in fault_proxy.requests] == ["GET", "GET"]
    assert all(r.path == "/custom-metrics/api/v1/app/appID1/custom-metrics" for r in fault_proxy.requests)


def test_search_narrows_the_list_and_htmx_gets_only_the_table(signed_in_client):
    url = reverse("metric_list", args=["appID1"])
    full = signed_in_client.get(url, {"q": "crash"})
    assert "<html" in full.content.decode() and "<search" in full.content.decode()
    assert all("crash" in n for n in names(full.content.decode()))
    assert names(full.content.decode())

    fragment = signed_in_client.get(url, {"q": "crash"}, **HTMX).content.decode()
    assert "<html" not in fragment and "<search" not in fragment
    assert fragment.lstrip().startswith('<div id="metric-table"')
    assert names(fragment) == names(full.content.decode())
    # A tab still running htmx 2 (loaded before an upgrade) names the target by its bare id.
    bare = signed_in_client.get(url, {"q": "crash"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="metric-table")
    assert bare.content.decode() == fragment


def test_search_matches_the_base_metric_by_its_display_name(signed_in_client):
    html = signed_in_client.get(
        reverse("metric_list", args=["appID1"]), {"q": "session count"}
    ).content.decode()
    assert "sessions_total_v1" in names(html)
    assert "crash_count_by_version" not in names(html)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true", "HTTP_HX_TARGET": "div#metric-table"},
        {
            "HTTP_HX_REQUEST": "true",
            "HTTP_HX_HISTORY_RESTORE_REQUEST": "true",
            "HTTP_HX_TARGET": "div#metric-table",
        },
        # What htmx 4 sends going back to a pushed URL: an htmx request that swaps the whole body.
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true", "HTTP_HX_TARGET": "body"},
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "main#main"},
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "div#metric-table-x"},
    ],
    ids=["boosted", "history-restore", "history-restore-body", "other-target", "other-id"],
)
def test_boosted_history_restore_and_other_targets_get_the_full_page(signed_in_client, headers):
    response = signed_in_client.get(reverse("metric_list", args=["appID1"]), **headers)
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_sorting_by_name_both_ways_and_by_base_metric(signed_in_client):
    url = reverse("metric_list", args=["appID1"])
    ascending = names(signed_in_client.get(url).content.decode())
    assert ascending == sorted(ascending, key=str.lower)
    html = signed_in_client.get(url, {"sort": "-name"}).content.decode()
    assert names(html) == ascending[::-1]
    assert re.search(
        r'aria-sort="descending">\s*<a id="sort-name" href="[^"]*sort=name"', html
    )  # a click reverses again

    by_metric = signed_in_client.get(url, {"sort": "metric"}).content.decode()
    shown = re.findall(r"</th>\s*<td>([^<]+)</td>", by_metric)
    assert shown == sorted(shown, key=str.lower)
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a[^>]*>Base metric', by_metric)


def test_a_nonsense_sort_or_page_falls_back_instead_of_failing(signed_in_client):
    response = signed_in_client.get(
        reverse("metric_list", args=["appID1"]), {"sort": "drop table", "page": "x"}
    )
    assert response.status_code == 200
    assert names(response.content.decode())


@pytest.mark.slow
def test_five_thousand_metrics_page_search_and_sort_quickly(signed_in_client):
    add_metrics("appID2", 5000)
    url = reverse("metric_list", args=["appID2"])

    started = time.perf_counter()
    html = signed_in_client.get(url).content.decode()
    elapsed = time.perf_counter() - started
    assert names(html) == [f"bulk_{i:05d}" for i in range(50)]
    assert "Page 1 of 100" in html and "5000 custom metrics" in html
    assert "page=2" in html

    last = signed_in_client.get(url, {"page": "100", "sort": "-name"}).content.decode()
    assert names(last) == [f"bulk_{i:05d}" for i in range(49, -1, -1)]
    past_the_end = signed_in_client.get(url, {"page": "999"}).content.decode()
    assert "Page 100 of 100" in past_the_end

    found = signed_in_client.get(url, {"q": "bulk_049"}, **HTMX).content.decode()
    assert names(found) == [f"bulk_{i:05d}" for i in range(4900, 4950)]
    assert "100 of 5000 metrics match" in found and "Page 1 of 2" in found
    # Sanity only (the benchmark in bench/ measures properly): a page of 5,000 is not seconds of work.
    assert elapsed < 5


def test_the_url_carries_search_sort_and_page_in_every_link(signed_in_client):
    add_metrics("appID2", 120)
    html = signed_in_client.get(
        reverse("metric_list", args=["appID2"]), {"q": "bulk", "sort": "-name"}
    ).content.decode()
    assert has(html, "a", href="/apps/appID2/?q=bulk&sort=-name&page=2")
    assert has(html, "input", value="-name", form="metric-search")  # the next search keeps this sort


def test_an_empty_app_points_editors_to_creation(signed_in_client):
    html = signed_in_client.get(reverse("metric_list", args=["appID2"])).content.decode()
    assert "No custom metrics in appID2 yet" in html
    assert f'href="{reverse("metric_create", args=["appID2"])}"' in html


def test_viewers_see_the_empty_state_without_a_create_link(client, make_user):
    client.force_login(make_user("viewer", role=User.Role.VIEWER))
    html = client.get(reverse("metric_list", args=["appID2"])).content.decode()
    assert "No custom metrics in appID2 yet" in html
    assert reverse("metric_create", args=["appID2"]) not in html


def test_a_search_without_results_says_so_and_offers_the_whole_list(signed_in_client):
    html = signed_in_client.get(
        reverse("metric_list", args=["appID1"]), {"q": "zzz-nothing"}, **HTMX
    ).content.decode()
    assert "No metrics match “zzz-nothing”" in html
    assert "No custom metrics in appID1 yet" not in html
    assert 'href="/apps/appID1/?"' in html or 'href="/apps/appID1/"' in html


def test_an_app_none_of_my_tokens_manages_is_a_404_page(signed_in_client, seed):
    response = signed_in_client.get(reverse("metric_list", args=["someoneElsesApp"]))
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_a_token_refused_for_the_app_shows_a_banner_pointing_to_the_token_page(client, make_user, seed):
    client.force_login(make_user("other-org", apps=[seed["other_app"]]))
    response = client.get(reverse("metric_list", args=[seed["other_app"]]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "refused" in html.lower()
    assert reverse("token_list") in html
    assert response["X-Request-ID"] in html  # the reference id the person can quote


def test_an_unreadable_token_asks_to_enter_it_again(client, demo_user):
    ApiToken.objects.filter(user=demo_user).update(ciphertext="gAAAAAnot-a-token-any-key-can-read")
    client.force_login(demo_user)
    response = client.get(reverse("metric_list", args=["appID1"]))
    assert response.status_code == 200
    assert "Please enter it again" in response.content.decode()
    token = ApiToken.objects.get(user=demo_user)
    assert reverse("token_replace", args=[token.pk]) in response.content.decode()


def test_embrace_failing_shows_a_banner_with_a_retry_link_not_a_500(
    signed_in_client, fault_upstream, fast_upstream_settings
):
    fault_upstream.respond(500, {"message": "we had an internal error, please try again later"})
    url = reverse("metric_list", args=["appID1"])
    response = signed_in_client.get(url, {"q": "crash"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="metric-table"')  # htmx swaps it in place of the table
    assert 'role="alert"' in html and "Try again" in html
    assert 'href="/apps/appID1/?q=crash"' in html
    assert response["X-Request-ID"] in html


def test_embrace_not_answering_in_time_shows_a_banner(
    signed_in_client, fault_upstream, fast_upstream_settings
):
    fault_upstream.hang()
    response = signed_in_client.get(reverse("metric_list", args=["appID1"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html and "<html" in html
    assert "sessions_total_v1" not in html


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse("metric_list", args=["appID1"]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_our_own_fault_is_a_plain_500_page_with_a_reference_and_no_details(signed_in_client, monkeypatch):
    # A mock, because no real component makes the console itself crash: the 500 page must say
    # nothing about the cause and give the id that finds it in the logs.
    def crash(*args, **kwargs):
        raise RuntimeError("internal detail: /secret/path")

    monkeypatch.setattr("metrics_ui.metrics.listing.build", crash)
    signed_in_client.raise_request_exception = False
    response = signed_in_client.get(reverse("metric_list", args=["appID1"]))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and response["X-Request-ID"] in html
    assert "secret" not in html and "RuntimeError" not in html and "Traceback" not in html


def test_a_viewer_refused_an_editor_action_gets_a_403_page_with_a_reference(client, make_user):
    client.force_login(make_user("viewer", role=User.Role.VIEWER))
    response = client.get(reverse("metric_delete", args=["appID1", "sessions_total_v1"]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "You can't do that" in html and "editor role" in html and response["X-Request-ID"] in html


def test_a_search_of_free_text_from_a_link_is_not_repeated_as_a_sentence(signed_in_client):
    """The search box keeps it (it is the person's field), but the page's own words never quote it."""
    phrase = "Your account is locked, call 555-0100"
    html = signed_in_client.get(reverse("metric_list", args=["appID1"]), {"q": phrase}).content.decode()
    assert "No metrics match your search" in html
    assert f"“{phrase}”" not in html


# --- Kept tables: the same list, query and notes give the same table, and anything else a new one ---------


def test_a_metric_added_or_removed_upstream_shows_at_the_next_view(signed_in_client):
    url = reverse("metric_list", args=["appID1"])
    before = names(signed_in_client.get(url).content.decode())
    CustomMetric.objects.create(
        app=App.objects.get(app_id="appID1"), name="added_elsewhere", metric="sessions_total"
    )
    added = names(signed_in_client.get(url).content.decode())
    CustomMetric.objects.filter(name="added_elsewhere").delete()

    assert "added_elsewhere" not in before and "added_elsewhere" in added
    assert names(signed_in_client.get(url).content.decode()) == before
    assert names(signed_in_client.get(url, **HTMX).content.decode()) == before


def test_an_owner_set_in_the_console_shows_at_the_next_view(signed_in_client):
    url = reverse("metric_list", args=["appID1"])
    signed_in_client.get(url)
    MetricNote.objects.create(app_id="appID1", name="sessions_total_v1", owner="Checkout team")

    assert "Checkout team" in row(signed_in_client.get(url).content.decode(), "sessions_total_v1")


def test_a_table_shown_to_an_editor_is_not_shown_to_a_viewer(signed_in_client, make_user):
    empty = reverse("metric_list", args=["appID2"])
    assert reverse("metric_create", args=["appID2"]) in signed_in_client.get(empty).content.decode()
    viewer = Client()
    viewer.force_login(make_user("viewer-only", role=User.Role.VIEWER))

    html = viewer.get(empty).content.decode()

    assert "No custom metrics in appID2 yet" in html
    assert reverse("metric_create", args=["appID2"]) not in html
