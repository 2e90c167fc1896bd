"""The top of the create page says what it is: a new metric, a replacement or a copy (title, breadcrumb,
heading, what happens next); it always starts on a base metric; keys are named in words."""

import re

from django.urls import reverse

from metrics_ui import catalog
from tests.markup import has
from tests.metrics_ui.test_create import base, form_fields, post

URL = reverse("metric_create", args=["appID1"])
OLD = "sessions_total_v1"


def title(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1)


def heading(page: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)).strip()


def test_replace_says_what_it_replaces_and_that_deleting_the_old_one_comes_after(signed_in_client):
    page = signed_in_client.get(URL, {"replace": OLD}).content.decode()
    assert title(page).startswith(f"Replace {OLD} · appID1")
    assert heading(page) == f"Replace {OLD}"
    assert "New metric" not in page
    assert f"It is created first; then you are offered to delete {OLD}." in page


def test_replace_keeps_its_title_after_a_builder_step(signed_in_client):
    """The builder posts back to the page without the link's query: the page still says Replace."""
    first = signed_in_client.get(URL, {"replace": OLD}).content.decode()
    data = {**form_fields(first), **base(name="sessions_total_v2", replaces=OLD)}
    page = post(signed_in_client, data, "add_condition:0").content.decode()
    assert heading(page) == f"Replace {OLD}"


def test_create_a_copy_says_what_it_copies_and_that_the_original_stays(signed_in_client):
    page = signed_in_client.get(URL, {"copy_of": OLD}).content.decode()
    assert title(page).startswith(f"Copy of {OLD} · appID1")
    assert heading(page) == f"Copy of {OLD}"
    assert f"{OLD} stays as it is" in page


def test_a_copy_of_free_text_is_not_named_in_the_title(signed_in_client):
    data = {**base(), "copy_of": "<b>not a name</b>"}
    page = post(signed_in_client, data, "refresh").content.decode()
    assert heading(page) == "New metric in appID1" and "not a name" not in page


def test_the_base_metric_select_starts_on_session_count_and_offers_no_placeholder(signed_in_client):
    page = signed_in_client.get(URL).content.decode()
    assert has(page, "option", value="sessions_total", selected=True)
    assert "Choose a base metric" not in page
    select = re.search(r'<select name="metric"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert 'value=""' not in select


def test_the_property_keys_field_names_the_group_by_as_its_checkbox_does(signed_in_client):
    page = signed_in_client.get(URL).content.decode()
    checkbox = catalog.key_label("session_property")
    assert has(page, "input", name="group_by", value="session_property")
    assert f"Session property keys (when “{checkbox}” is ticked)" in page
    assert "“session_property”" not in page
