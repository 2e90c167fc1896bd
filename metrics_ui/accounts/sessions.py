"""Session lifetimes.

* **Idle**: ``SESSION_COOKIE_AGE`` (= ``SESSION_IDLE_SECONDS``), sliding: a request pushes the
  session's expiry (the store's ``expire_date`` and the cookie's max-age) to a full idle period from
  now, and the session store refuses an expired session. To spare a database write on every page
  view, the push is skipped while the expiry is less than ``IDLE_REFRESH_STEP_SECONDS`` old
  (``IDLE_EXPIRES_AT`` in the session remembers it): at most one write per session per step, and an
  idle session ends between ``SESSION_IDLE_SECONDS - IDLE_REFRESH_STEP_SECONDS`` and
  ``SESSION_IDLE_SECONDS`` after its last request, never later.
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
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SIGNED_IN_AT = "signed_in_at"
# Sessions store their sign-in backend's dotted path; these moved, and Django drops a session whose
# path is not in AUTHENTICATION_BACKENDS. Kept one release, while sessions signed in before the move live.
MOVED_BACKENDS = {
    "metrics_ui.sso.OIDCBackend": "metrics_ui.accounts.oidc.OIDCBackend",
    "metrics_ui.proxy_auth.ProxyHeaderBackend": "metrics_ui.accounts.proxy.ProxyHeaderBackend",
}
IDLE_EXPIRES_AT = "idle_expires_at"  # when the stored expiry runs out, as written (epoch seconds)
IDLE_REFRESH_STEP_SECONDS = 60


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


def slide_idle_expiry(session: SessionBase) -> None:
    """Push a stored session's expiry to a full idle period from now, unless it was pushed less than
    ``IDLE_REFRESH_STEP_SECONDS`` ago. Writing a key marks the session modified, so
    ``SessionMiddleware`` saves it (``expire_date`` = now + ``SESSION_COOKIE_AGE``) and re-sends the
    cookie with the same max-age; otherwise nothing is written."""
    # Not stamped at sign-in, so the first page after it writes once more (and sends the cookie).
    expires_at = session.get(IDLE_EXPIRES_AT)  # loads the session (the auth middleware already did)
    if session.is_empty():
        return  # no session, or one the store refused (expired, unknown): never create one here
    now = time.time()
    age = settings.SESSION_COOKIE_AGE
    remaining = None if expires_at is None else float(expires_at) - now
    # More than a full period left means the idle limit was shortened since: apply it now.
    if remaining is None or remaining < age - IDLE_REFRESH_STEP_SECONDS or remaining > age:
        session[IDLE_EXPIRES_AT] = now + age


def session_age(request: HttpRequest) -> float | None:
    started = request.session.get(SIGNED_IN_AT)
    return None if started is None else time.time() - float(started)


class SessionLimitsMiddleware:
    """Ends a session past its absolute lifetime and slides its idle expiry (the idle limit itself
    is the session store's: it refuses an expired session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_exempt(request.path):
            return self.get_response(request)
        if request.user.is_authenticated:
            age = session_age(request)
            # A session without a stamp predates this check (or was forged): treat it as too old.
            if age is None or age > settings.SESSION_ABSOLUTE_SECONDS:
                request.sign_out_reason = "the session reached its absolute lifetime"
                logout(request)
                messages.info(
                    request,
                    "You were signed out because your session reached its time limit. Please sign in again.",
                )
        # Before the view: a view that signs out flushes the session, and this must not revive it.
        slide_idle_expiry(request.session)
        return self.get_response(request)


class MovedBackendMiddleware:
    """Rewrites a stored sign-in backend path that moved (``MOVED_BACKENDS``) to its new place.

    It sits right after the session middleware: anything that reads ``request.user`` resolves the
    user from this path, and Django would drop the session for a path it no longer lists.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        moved = MOVED_BACKENDS.get(request.session.get(BACKEND_SESSION_KEY))
        if moved:
            request.session[BACKEND_SESSION_KEY] = moved
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
