"""Trusted reverse-proxy sign-in: oauth2-proxy, Cloudflare Access, Google IAP, Pomerium.

The proxy authenticates the person and passes their e-mail (``PROXY_AUTH_USER_HEADER``) and groups
(``PROXY_AUTH_GROUPS_HEADER``) in request headers. Anyone can send such headers, so they count only
when the connection comes from one of ``PROXY_AUTH_TRUSTED_PROXIES`` (the same allowlist Grafana's
auth proxy calls ``whitelist``); from anywhere else, and when empty, they are ignored and logged.
Roles are mapped from the groups exactly as for OIDC (``metrics_ui.accounts.identity.gatekeep``), on every
request, since the proxy vouches for every request.

Two things this module cannot do, and the deployment must (see docs/operations.md):

* strip client-sent copies of the headers at the proxy, and
* drop header names with underscores (``X_Forwarded_Email`` becomes the same ``HTTP_X_FORWARDED_EMAIL``
  key in WSGI). Django's development server and gunicorn (``header_map = "drop"``, its default
  since 22.0) both drop them.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, login, logout
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from metrics_ui.accounts.identity import Refused, gatekeep, groups_from, refused_response, sync_user
from metrics_ui.accounts.sessions import is_exempt
from metrics_ui.audit import trail as audit
from metrics_ui.network import is_trusted_proxy

security_log = logging.getLogger("metrics_ui.security")

PROXY_BACKEND = "metrics_ui.accounts.proxy.ProxyHeaderBackend"
# One audit record per refused identity and reason in this window: the proxy repeats the
# headers on every request, and the trail should not fill with the same refusal.
_REFUSAL_AUDIT_SECONDS = 300


def meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def identity_from(value: str) -> str:
    # Google IAP sends "accounts.google.com:person@example.com"; an e-mail never contains ":".
    return value.strip().rpartition(":")[2].strip()


class ProxyHeaderBackend(ModelBackend):
    """Signs in the person the trusted proxy named. Only ``ProxyHeaderMiddleware`` calls it."""

    def authenticate(self, request, proxy_email: str = "", proxy_groups: tuple[str, ...] = ()):
        if request is None or not proxy_email or not settings.PROXY_AUTH_ENABLED:
            return None
        try:
            role = gatekeep(proxy_email, proxy_groups)
            return sync_user(proxy_email, role)
        except Refused as refusal:
            request.sso_refusal = refusal
            return None


class ProxyHeaderMiddleware:
    """Turns the trusted proxy's headers into a console session. Always installed; does nothing
    unless ``PROXY_AUTH_ENABLED``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.PROXY_AUTH_ENABLED and not is_exempt(request.path):
            refused = self._sign_in(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _sign_in(self, request: HttpRequest) -> HttpResponse | None:
        raw = request.META.get(meta_key(settings.PROXY_AUTH_USER_HEADER))
        trusted = is_trusted_proxy(request)
        if raw is not None and not trusted:
            security_log.warning(
                "Ignored a sign-in header from an address that is not a trusted proxy",
                extra={"remote_addr": request.META.get("REMOTE_ADDR", "")},
            )
        email = identity_from(raw) if trusted and raw else ""
        user = request.user
        from_proxy = request.session.get(BACKEND_SESSION_KEY) == PROXY_BACKEND
        if not email:
            if trusted and raw is not None:
                security_log.warning("Ignored an empty sign-in header from the trusted proxy")
            if user.is_authenticated and from_proxy:
                # The proxy no longer vouches for anyone on this request: the session ends.
                request.sign_out_reason = "the trusted proxy stopped sending the user header"
                logout(request)
            return None
        groups = groups_from(request.META.get(meta_key(settings.PROXY_AUTH_GROUPS_HEADER), ""))
        if user.is_authenticated and from_proxy and user.email.lower() == email.lower():
            return self._keep_role_current(request, user, email, groups)
        if user.is_authenticated:
            request.sign_out_reason = "the trusted proxy named a different user"
            logout(request)
        user = authenticate(request, proxy_email=email, proxy_groups=tuple(groups))
        if user is None:
            return self._refuse(
                request,
                getattr(request, "sso_refusal", None)
                or Refused("You could not be signed in.", "the trusted proxy's user was not accepted", email),
            )
        login(request, user, backend=PROXY_BACKEND)
        return None

    def _keep_role_current(self, request, user, email: str, groups: list[str]) -> HttpResponse | None:
        try:
            role = gatekeep(email, groups)
        except Refused as refusal:
            request.sign_out_reason = "the trusted proxy's groups no longer grant access"
            logout(request)
            return self._refuse(request, refusal)
        if role != user.role:
            user.role = role
            user.save(update_fields=["role"])
        return None

    def _refuse(self, request: HttpRequest, refusal: Refused) -> HttpResponse:
        if cache.add(_refusal_key(refusal), 1, _REFUSAL_AUDIT_SECONDS):
            security_log.warning("Sign-in refused", extra={"reason": refusal.detail})
            audit.record(
                request, "auth.refused", outcome="refused", detail=refusal.detail, username=refusal.identity
            )
        return refused_response(request, refusal)


def _refusal_key(refusal: Refused) -> str:
    # Hashed: the identity and reason are free text (spaces, quotes, any length), which memcached refuses
    # as a key and Django warns about on every backend.
    text = f"{refusal.identity.lower()}\x00{refusal.detail}"
    return "proxy-refused:" + hashlib.sha256(text.encode()).hexdigest()
