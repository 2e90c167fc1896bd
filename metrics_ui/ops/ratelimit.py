"""A per-user limit on writes: creating or deleting metrics upstream, and adding or replacing tokens.

One person clicking fast, a stuck script replaying a form, or a stolen session should not be able to
flood Embrace (or the audit trail) through the console. Every write counts against one budget per user,
``settings.WRITE_RATE_LIMIT`` (django-ratelimit's ``"30/m"`` notation: 30 writes per minute). Counters live in
Django's cache, so with Redis every console instance shares them; with the local-memory cache each process
counts on its own.

Builder actions, name checks and page views never write upstream and are never limited.

Metric writes reach Embrace only through ``metrics_ui.metrics.budget``, which reserves them with
:func:`take` (a copy into N apps takes N at once, or none). Token changes call :func:`write_limited`.
Both happen after the form is valid, and a refusal is answered with
:func:`refused`: the same page, bound to everything the person typed, carrying :data:`MESSAGE`. A plain
request gets HTTP 429 with ``Retry-After``; an htmx request gets 200, because the console's htmx swaps
no 4xx body and the message must reach the page.

The limiter fails open: if the cache can't count (Redis down), writes go through and a warning is logged.
The limit protects Embrace from floods; it is not worth refusing every change while the cache is away.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.forms import BaseForm
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

logger = logging.getLogger("metrics_ui.ratelimit")

GROUP = "metrics_ui.writes"
MESSAGE = "You've made a lot of changes in a short time. Please wait a minute and try again."
DEFAULT_RATE = "30/m"


def write_limited(request: HttpRequest) -> bool:
    """Count one write by ``request.user``; True when it goes over the limit (and must not be made)."""
    return take(request, 1) is not None


def take(request: HttpRequest, count: int) -> int | None:
    """Count ``count`` writes by ``request.user`` at once; None when granted, else how many are left.

    A refused request counts nothing, so "you can make 3 more" stays true. The check and the counting
    are separate cache operations: two requests racing may both pass, overshooting by at most the
    smaller one, which a flood limit can bear.
    """
    rate = getattr(settings, "WRITE_RATE_LIMIT", DEFAULT_RATE) or None
    if rate is None or count <= 0 or not request.user.is_authenticated:
        return None
    try:
        usage = get_usage(request, group=GROUP, key="user", rate=rate, increment=False)
        if usage is None:  # RATELIMIT_ENABLE is off
            return None
        if usage["limit"] == 0:  # django-ratelimit's sign that the cache could not count
            logger.warning("Write rate limit not checked: the cache did not count")
            return None
        left = max(0, usage["limit"] - usage["count"])
        if count > left:
            logger.warning(
                "Write refused by the per-user rate limit (%s)", rate, extra={"user_id": request.user.pk}
            )
            return left
        for _ in range(count):
            get_usage(request, group=GROUP, key="user", rate=rate, increment=True)
    except Exception:  # a cache backend error (e.g. Redis unreachable): fail open, see the docstring
        logger.warning("Write rate limit not checked: the cache is unavailable", exc_info=True)
    return None


def hold(form: BaseForm) -> BaseForm:
    """The bound form, not validated, with the limit's message as its only error.

    Validating would do the work the limit exists to stop (the token form asks Embrace about every app),
    so the error dictionary starts empty instead; the fields still render what the person typed.
    """
    form._errors = ErrorDict()
    form.cleaned_data = {}
    form.add_error(None, MESSAGE)
    return form


def refused(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Mark a page that carries :data:`MESSAGE`: 429 + Retry-After, or 200 for htmx (which swaps no 4xx)."""
    if not request.htmx:
        response.status_code = 429
        response.reason_phrase = "Too Many Requests"
    response["Retry-After"] = "60"
    return response
