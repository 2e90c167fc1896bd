"""The console has an icon in the browser tab, and the /favicon.ico every browser asks for finds it."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from tests.markup import elements

pytestmark = pytest.mark.django_db


def test_every_page_links_the_svg_icon(client):
    page = client.get("/login/").content.decode()
    (icon,) = elements(page, "link", rel="icon")
    assert icon["type"] == "image/svg+xml" and icon["href"].endswith("img/favicon.svg")
    found = finders.find("img/favicon.svg")
    assert found and Path(found).read_text(encoding="utf-8").lstrip().startswith("<svg")


def test_favicon_ico_leads_to_the_icon_instead_of_a_not_found(client):
    """Without it every page view logs a 404 for /favicon.ico; anonymous visitors get it too."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    (icon,) = elements(client.get("/login/").content, "link", rel="icon")
    assert response["Location"] == icon["href"]
