"""Sending the browser to another page, whether the request came from htmx or a plain form: htmx
follows a 302 inside the fragment it asked for, so it gets ``HX-Redirect`` and loads the whole page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def go_to(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)
