"""Sending the browser to another page, whether the request came from htmx or a plain form: htmx
follows a 302 inside the fragment it asked for, so it gets ``HX-Redirect`` and loads the whole page.
And telling a request for part of a page from one that wants the whole page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def go_to(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)


def wants_part(request: HttpRequest, element_id: str | None = None) -> bool:
    """True for an htmx request that swaps part of the page (aimed at ``#element_id`` when given).

    A boosted link or form wants the whole page, and so does htmx 4's history restore: going back,
    it fetches the page again as an htmx request (``HX-History-Restore-Request``) and swaps in the body.
    htmx 4 names the target as ``tag#id`` (``div#metric-table``); the bare id htmx 2 sent still counts,
    for a page loaded before an upgrade.
    """
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return False
    return element_id is None or (htmx.target or "").rpartition("#")[2] == element_id
