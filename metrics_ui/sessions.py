"""Session lifetimes.

* **Idle**: ``SESSION_COOKIE_AGE`` (= ``SESSION_IDLE_SECONDS``) with ``SESSION_SAVE_EVERY_REQUEST``:
  every request pushes the expiry forward, and the session store refuses an expired session.
* **Absolute**: every sign-in stamps the session (``SIGNED_IN_AT``); ``SessionLimitsMiddleware``
  signs the person out once it is older than ``SESSION_ABSOLUTE_SECONDS``, however active they are.

A full page then redirects to sign-in and an htmx request gets ``HX-Redirect`` — both through the
permission decorators, which see an anonymous user.
"""

from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.models import Session
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SIGNED_IN_AT = "signed_in_at"


def is_exempt(path: str) -> bool:
    """Probes and the sandbox API never take part in sign-in logic (``SIGN_IN_EXEMPT_PATHS``:
    an entry ending in ``/`` is a prefix, any other is one exact path)."""
    for exempt in settings.SIGN_IN_EXEMPT_PATHS:
        if path == exempt or (exempt.endswith("/") and path.startswith(exempt)):
            return True
    return False


@receiver(user_logged_in, dispatch_uid="metrics_ui.sessions.stamp")
def _stamp_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        session[SIGNED_IN_AT] = time.time()


def session_age(request: HttpRequest) -> float | None:
    started = request.session.get(SIGNED_IN_AT)
    return None if started is None else time.time() - float(started)


class SessionLimitsMiddleware:
    """Ends a session past its absolute lifetime (the idle limit is the session store's own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_exempt(request.path) and request.user.is_authenticated:
            age = session_age(request)
            # A session without a stamp predates this check (or was forged): treat it as too old.
            if age is None or age > settings.SESSION_ABSOLUTE_SECONDS:
                request.sign_out_reason = "the session reached its absolute lifetime"
                logout(request)
                messages.info(
                    request,
                    "You were signed out because your session reached its time limit. Please sign in again.",
                )
        return self.get_response(request)


def end_sessions(user) -> int:
    """Ends every session ``user`` has, now. Returns how many were found in the session table.

    Works for the database and cached-database engines (each one is deleted through the engine,
    so a cached copy goes too). For single sign-on users, whose password is unusable anyway, the
    password field is also re-randomised: Django then refuses any session of theirs that a
    scan missed, because the session's auth hash no longer matches.
    """
    if not user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            store(session_key=session.session_key).delete()
            ended += 1
    return ended
