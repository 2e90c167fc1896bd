"""Every page inside an app shows the same breadcrumb trail, in the markup Pico draws with separators:
<nav aria-label="breadcrumb"><ul><li>…, starting at "Apps"."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse


class _Trail(HTMLParser):
    """The breadcrumb navs of a page: for each, its items as (text, link or None, aria-current)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.trails: list[list[dict]] = []
        self.other_labels: list[str] = []
        self._in_nav = False
        self._item: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and (attrs.get("aria-label") or "").lower() == "breadcrumb":
            if attrs["aria-label"] != "breadcrumb":
                self.other_labels.append(attrs["aria-label"])
            self._in_nav = True
            self.trails.append([])
        elif self._in_nav and tag == "li":
            self._item = {"text": "", "href": None, "current": attrs.get("aria-current")}
            self.trails[-1].append(self._item)
        elif self._item is not None and tag == "a":
            self._item["href"] = attrs.get("href")

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False
        if tag == "li":
            self._item = None

    def handle_data(self, data):
        if self._item is not None:
            self._item["text"] += data.strip()


def trail(page: str) -> _Trail:
    parser = _Trail()
    parser.feed(page)
    return parser


APP, NAME = "appID1", "sessions_total_v1"
PAGES = {
    "metric list": (reverse("metric_list", args=[APP]), [APP]),
    "metric detail": (reverse("metric_detail", args=[APP, NAME]), [APP, NAME]),
    "new metric": (reverse("metric_create", args=[APP]), [APP, "New metric"]),
    "replace": (reverse("metric_create", args=[APP]) + f"?replace={NAME}", [APP, NAME, "Replace"]),
    "create a copy": (f"{reverse('metric_create', args=[APP])}?copy_of={NAME}", [APP, NAME, "Create a copy"]),
    "copy to other apps": (reverse("metric_copy", args=[APP, NAME]), [APP, NAME, "Copy to other apps"]),
    "delete": (reverse("metric_delete", args=[APP, NAME]), [APP, NAME, "Delete"]),
}


@pytest.mark.parametrize("page_name", PAGES)
def test_every_app_page_has_one_pico_breadcrumb_starting_at_apps(signed_in_client, page_name):
    url, expected = PAGES[page_name]
    response = signed_in_client.get(url)
    assert response.status_code == 200
    found = trail(response.content.decode())
    assert not found.other_labels, "a breadcrumb Pico doesn't style"
    assert len(found.trails) == 1
    (items,) = found.trails
    assert [i["text"] for i in items] == ["Apps", *expected]
    assert items[0]["href"] == reverse("home")
    # Every step but the last is a link back; the last is the page you are on.
    assert all(i["href"] for i in items[:-1]) and items[-1]["href"] is None
    assert [i["current"] for i in items] == [None] * (len(items) - 1) + ["page"]


def test_a_missing_metric_still_leads_back_to_its_app(signed_in_client):
    page = signed_in_client.get(reverse("metric_detail", args=[APP, "no_such_metric"])).content.decode()
    (items,) = trail(page).trails
    assert [(i["text"], i["href"]) for i in items] == [
        ("Apps", reverse("home")),
        (APP, reverse("metric_list", args=[APP])),
    ]


def test_pages_outside_an_app_have_no_breadcrumb(signed_in_client):
    for url in (reverse("home"), reverse("token_list")):
        assert trail(signed_in_client.get(url).content.decode()).trails == []
