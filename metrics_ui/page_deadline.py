"""How long one page view may wait for Embrace, across all its calls and their retries.

``UPSTREAM_PAGE_DEADLINE`` seconds from the start of the request (``PageDeadlineMiddleware``). The per-call
timeouts alone don't bound a page: with the production defaults a hung upstream costs two attempts of
connect + read timeout plus the wait between them, about 26 s. ``metrics_ui.upstream`` reads what is left
here, shortens each attempt to it and retries only while time remains.

A create is sent once with its own full timeouts, and the look-up that checks a create or delete whose
answer was lost starts a fresh deadline (``restart``): telling the person whether their change happened
matters more than a few seconds. Outside a request (commands, scripts) there is no deadline.
"""

import contextlib
import contextvars
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# (moment it runs out on time.monotonic(), its length in seconds), or None when there is none.
_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "page_deadline", default=None
)


def remaining() -> float | None:
    """Seconds left before the deadline (negative once past it), or None when there is no deadline."""
    current = _deadline.get()
    return None if current is None else current[0] - time.monotonic()


def restart() -> None:
    """A fresh deadline of the same length from now, if there is one."""
    current = _deadline.get()
    if current is not None:
        _deadline.set((time.monotonic() + current[1], current[1]))


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Calls inside share ``seconds`` (none when None or 0)."""
    token = _deadline.set((time.monotonic() + seconds, seconds) if seconds else None)
    try:
        yield
    finally:
        _deadline.reset(token)


class PageDeadlineMiddleware:
    """Starts the page's ``UPSTREAM_PAGE_DEADLINE`` when the request arrives."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with deadline(settings.UPSTREAM_PAGE_DEADLINE):
            return self.get_response(request)
