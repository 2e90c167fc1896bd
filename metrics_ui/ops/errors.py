"""What a person sees when something goes wrong: upstream banners and the 500 page.

Upstream failures are expected events, not faults of ours: a view renders its page (status 200,
so htmx swaps it) with ``partials/upstream_error.html`` fed by ``problem()``. The banner says what
happened in plain words, gives the request's reference id, and offers a retry; when the person's
token is the problem it points to the tokens page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django_htmx.http import reswap, retarget

from metrics_ui import upstream
from metrics_ui.tokens import access


@dataclass(frozen=True)
class Problem:
    """A failure as the banner shows it."""

    message: str
    retry_url: str
    token_url: str  # set when the person's token is the problem: where to fix it
    reference: str


def problem(request: HttpRequest, error: Exception, retry_url: str = "") -> Problem:
    """Describe an ``upstream.UpstreamError`` or ``access.TokenUnreadable`` for the banner partial."""
    message = getattr(error, "message", "") or "Something went wrong while talking to Embrace."
    if isinstance(error, access.TokenUnreadable):
        token_url = error.url
    elif isinstance(error, upstream.Forbidden):
        token_url = reverse("token_list")
    else:
        token_url = ""
    return Problem(message, retry_url, token_url, getattr(request, "request_id", ""))


def server_error(request: HttpRequest) -> HttpResponseServerError:
    """Our own fault: a page with the reference id and nothing else (no details, no context processors,
    which might be what failed)."""
    html = loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")})
    return HttpResponseServerError(html)


# --- Requests the console refuses before any view runs (size caps) ---------------------------------
# Django turns an oversized body (DATA_UPLOAD_MAX_MEMORY_SIZE), too many fields
# (DATA_UPLOAD_MAX_NUMBER_FIELDS) or a malformed request into a SuspiciousOperation and calls handler400.
# Its default page is a bare "Bad Request (400)"; this one says what happened in plain words, gives the
# reference id, and answers a too-large request with 413. The console's htmx swaps no 4xx answer, so an htmx
# request gets the message as a 200 aimed at the page's message area instead.

_TOO_BIG = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    too_big = isinstance(exception, _TOO_BIG)
    context = {
        "too_big": too_big,
        "limit_kb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024,
        "max_fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        "request_id": getattr(request, "request_id", ""),
    }
    if request.headers.get("HX-Request") == "true":
        response = render(request, "400.html#request-refused", context)
        return reswap(retarget(response, "#messages"), "innerHTML")
    return render(request, "400.html", context, status=413 if too_big else 400)
