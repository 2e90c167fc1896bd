"""A limit on password sign-in attempts: the development demo form, the console's only password form.

Every attempt counts, failed or not, once against the client's address and once against the username
typed, so neither guessing many passwords for one account from many addresses nor many accounts from
one address goes fast. ``settings.SIGN_IN_RATE_LIMIT`` sets the rate (django-ratelimit's notation,
default ``"10/m"``). Like the write limit, it fails open when the cache can't count.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from metrics_ui.network import client_ip

logger = logging.getLogger("metrics_ui.ratelimit")

DEFAULT_RATE = "10/m"
MESSAGE = "There have been too many sign-in attempts in a short time. Please wait a minute and try again."


def _address(group: str, request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _username(group: str, request: HttpRequest) -> str:
    return request.POST.get("username", "").strip().lower()[:150]


def limited(request: HttpRequest) -> bool:
    """Count this attempt; True when its address or its username is over the limit."""
    rate = settings.SIGN_IN_RATE_LIMIT or None
    if rate is None:
        return False
    over = False
    for key in (_address, _username):
        group = f"metrics_ui.sign_in.{key.__name__.lstrip('_')}"
        try:
            usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
        except Exception:  # a cache backend error: fail open, as the write limit does
            logger.warning("Sign-in rate limit not checked: the cache is unavailable", exc_info=True)
            continue
        # A limit of 0 is django-ratelimit's sign that the cache could not count.
        over = over or bool(usage and usage["limit"] and usage["should_limit"])
    if over:
        logger.warning("Sign-in attempt refused by the rate limit (%s)", rate)
    return over
