"""Every form field renders the same way: its label, its help, its errors, and the links between them
that screen readers follow (aria-describedby) and that Pico colours (aria-invalid)."""

import re

from django.urls import reverse

from metrics_ui import catalog
from tests.markup import elements
from tests.metrics_ui.test_create_submit import form

URL = reverse("metric_create", args=["appID1"])


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no element with id {element_id}"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(2)).strip()


def test_a_field_shows_its_label_and_help_and_the_input_points_to_the_help(signed_in_client):
    page = signed_in_client.get(URL).content.decode()
    (name,) = elements(page, "input", name="name")
    assert re.search(rf'<label for="{name["id"]}">Name</label>', page)
    assert "Letters, digits and underscores" in text_of(page, f"{name['id']}_helptext")
    assert name["aria-describedby"] == f"{name['id']}_helptext"
    assert "aria-invalid" not in name  # nothing is wrong yet, so nothing is shown in red


def test_the_longest_name_allowed_comes_from_the_form(signed_in_client):
    """The browser stops typing where the form would refuse, not at a number of its own."""
    page = signed_in_client.get(URL).content.decode()
    (name,) = elements(page, "input", name="name")
    assert name["maxlength"] == str(catalog.NAME_MAX_LENGTH + 50)


def test_a_field_with_an_error_is_marked_invalid_and_points_to_its_message(signed_in_client):
    page = signed_in_client.post(URL, form(name="bad-name")).content.decode()
    (name,) = elements(page, "input", name="name")
    assert name["aria-invalid"] == "true" and name["value"] == "bad-name"
    described = name["aria-describedby"].split()
    assert described == [f"{name['id']}_helptext", f"{name['id']}_error"]
    assert "not -" in text_of(page, f"{name['id']}_error")


def test_other_fields_stay_unmarked_when_one_has_an_error(signed_in_client):
    page = signed_in_client.post(URL, form(name="bad-name")).content.decode()
    assert [e["name"] for e in elements(page, aria_invalid="true")] == ["name"]
