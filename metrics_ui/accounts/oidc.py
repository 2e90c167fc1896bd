"""Single sign-on with OpenID Connect, and the gatekeeping shared with the trusted-proxy mode
(``metrics_ui.accounts.identity``).

Built on mozilla-django-oidc: a small library that does one thing (the authorization-code flow
for Django's auth), exposes every step as an overridable method, and ships ``SessionRefresh``,
which sends the browser back to the identity provider (IdP) with ``prompt=none`` once the ID token
is older than ``OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS`` — so a person removed at the IdP loses access
within that interval.

What this module adds on top:

* **Lazy discovery.** With ``OIDC_DISCOVERY_URL`` (or ``OIDC_ISSUER``) the provider's
  ``.well-known/openid-configuration`` is fetched at the first sign-in, with ``OIDC_TIMEOUT``,
  and kept for an hour; endpoints set explicitly (``OIDC_OP_*``) win over it.
* **Accounts are bound to the provider's subject** (``sync_oidc_user``): the ID token's
  (issuer, sub) pair, stored at the first sign-in; an e-mail address links an existing account
  once, only when verified (``OIDC_EMAIL_LINKING``).
* **Gatekeeping** (``gatekeep``): allowed domains and/or required
  groups; the role (viewer/editor/admin) comes from groups at every sign-in, and a person with no
  role group is refused — never given a default role.
* **Refusals** are a page ("you don't have access; ask <SUPPORT_CONTACT>"), an audit record with
  the reason, and no session.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from mozilla_django_oidc import middleware as oidc_middleware
from mozilla_django_oidc import views as oidc_views
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from metrics_ui import bounded_json
from metrics_ui.accounts.identity import (
    Refused,
    deactivated,
    gatekeep,
    groups_from,
    refused_response,
    sync_oidc_user,
    unavailable_response,
)
from metrics_ui.accounts.sessions import is_exempt
from metrics_ui.audit import trail as audit

logger = logging.getLogger("metrics_ui.sso")  # the name operators filter on
security_log = logging.getLogger("metrics_ui.security")

OIDC_BACKEND = "metrics_ui.accounts.oidc.OIDCBackend"

# --- The provider's configuration: explicit settings, else discovery (fetched lazily) -----------


class SSOUnavailable(Exception):
    """The identity provider's configuration could not be read."""


_ENDPOINTS = {
    # name: (explicit setting, discovery key)
    "authorization": ("OIDC_OP_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
    "token": ("OIDC_OP_TOKEN_ENDPOINT", "token_endpoint"),
    "userinfo": ("OIDC_OP_USER_ENDPOINT", "userinfo_endpoint"),
    "jwks": ("OIDC_OP_JWKS_ENDPOINT", "jwks_uri"),
    "logout": ("OIDC_OP_LOGOUT_ENDPOINT", "end_session_endpoint"),
}
_DISCOVERY_TTL_SECONDS = 3600
_DISCOVERY_MAX_BYTES = 512 * 1024
_discovered: dict[str, tuple[float, dict]] = {}


def discovery_url() -> str:
    if settings.OIDC_DISCOVERY_URL:
        return settings.OIDC_DISCOVERY_URL
    if settings.OIDC_ISSUER:
        return settings.OIDC_ISSUER.rstrip("/") + "/.well-known/openid-configuration"
    return ""


def provider_metadata() -> dict:
    """The discovery document (cached for an hour per process), or ``{}`` when none is configured."""
    url = discovery_url()
    if not url:
        return {}
    cached = _discovered.get(url)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    if not url.startswith(("https://", "http://")):
        raise SSOUnavailable(f"OIDC_DISCOVERY_URL must be an http(s) URL, not {url!r}")
    try:
        # The IdP is not the Embrace API, so this does not go through metrics_ui.upstream.
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=settings.OIDC_TIMEOUT) as response:  # noqa: S310
            metadata = bounded_json.loads(response.read(_DISCOVERY_MAX_BYTES))
    except (OSError, ValueError) as exc:
        logger.warning("Could not read the OIDC discovery document", extra={"url": url, "error": str(exc)})
        raise SSOUnavailable(f"could not read {url}: {exc}") from exc
    if not isinstance(metadata, dict):
        raise SSOUnavailable(f"{url} did not return a JSON object")
    _discovered[url] = (time.monotonic() + _DISCOVERY_TTL_SECONDS, metadata)
    return metadata


def endpoint(name: str) -> str:
    """The provider's ``name`` endpoint. ``logout`` may be ``""`` (the IdP offers none)."""
    setting, key = _ENDPOINTS[name]
    explicit = getattr(settings, setting, "")
    if explicit:
        return explicit
    value = provider_metadata().get(key, "")
    if not value and name != "logout":
        raise SSOUnavailable(f"neither {setting} nor the discovery document's {key} is set")
    return value


def expected_issuer() -> str:
    if settings.OIDC_ISSUER:
        return settings.OIDC_ISSUER.rstrip("/")
    return str(provider_metadata().get("issuer", "")).rstrip("/") if discovery_url() else ""


def forget_discovery() -> None:
    """Drop the cached discovery documents (tests; or after the operator changes the IdP)."""
    _discovered.clear()


# --- The authentication backend ------------------------------------------------------------------


class OIDCBackend(OIDCAuthenticationBackend):
    """Claims → console user. The ID token's (issuer, sub) is the identity; groups give the role."""

    def authenticate(self, request, **kwargs):
        # Only the OIDC callback passes a nonce; password and proxy sign-ins are not ours.
        if request is None or "nonce" not in kwargs or not settings.OIDC_ENABLED:
            return None
        self.OIDC_OP_TOKEN_ENDPOINT = endpoint("token")
        self.OIDC_OP_USER_ENDPOINT = endpoint("userinfo")
        self.OIDC_OP_JWKS_ENDPOINT = endpoint("jwks")
        self._role = None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (userinfo may also come as a JWT)
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if settings.OIDC_RP_CLIENT_ID not in audiences:
                raise SuspiciousOperation("The ID token was issued for another client.")
            issuer = expected_issuer()
            if issuer and str(payload.get("iss", "")).rstrip("/") != issuer:
                raise SuspiciousOperation("The ID token was issued by another provider.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") and payload.get("sub") and userinfo["sub"] != payload["sub"]:
            raise SuspiciousOperation("The userinfo answer is about someone else.")
        # Some providers (Microsoft Entra ID) put groups only in the ID token, so both count;
        # the ID token was verified above, userinfo came straight from the provider over TLS.
        return {**payload, **userinfo}

    def verify_claims(self, claims) -> bool:
        email = str(claims.get(settings.OIDC_EMAIL_CLAIM) or "")
        try:
            self._role = gatekeep(
                email,
                groups_from(claims.get(settings.OIDC_GROUPS_CLAIM)),
                email_verified=claims.get("email_verified", True),
            )
        except Refused as refusal:
            self.request.sso_refusal = refusal
            return False
        return True

    def get_or_create_user(self, access_token, id_token, payload):
        # Replaced whole: the user is found by the ID token's (issuer, subject), synced (role,
        # names) at every sign-in, and refusals carry their reason to the callback view.
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            return None
        try:
            return sync_oidc_user(
                str(payload.get("iss") or ""),
                str(payload.get("sub") or ""),
                str(claims.get(settings.OIDC_EMAIL_CLAIM)),
                self._role,
                email_verified=claims.get("email_verified"),
                first_name=str(claims.get("given_name") or ""),
                last_name=str(claims.get("family_name") or ""),
                request=self.request,
            )
        except Refused as refusal:
            self.request.sso_refusal = refusal
            return None

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # A deactivated user's sessions stop working at their next request.
        return user if user is not None and user.is_active else None


# --- The views mozilla-django-oidc routes to (settings point OIDC_*_CLASS here) -----------------


def safe_next(request: HttpRequest, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


class AuthenticationRequestView(oidc_views.OIDCAuthenticationRequestView):
    """Sends the browser to the provider. Discovery happens here, at the first sign-in."""

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoint("authorization")
        except SSOUnavailable:
            return unavailable_response(request)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


# OAuth 2.0 and OpenID Connect error codes a provider sends back. Anything else is "other": the
# ``error`` parameter is chosen by whoever made the link, so it is never stored as sent.
PROVIDER_ERRORS = frozenset(
    {
        "access_denied",
        "login_required",
        "interaction_required",
        "consent_required",
        "account_selection_required",
        "invalid_request",
        "invalid_scope",
        "unauthorized_client",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
    }
)


def provider_error_code(value: str) -> str:
    return value if value in PROVIDER_ERRORS else "other"


class CallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """The provider sends the browser back here; a refusal gets the no-access page and no session.

    Only an answer to this browser's own sign-in attempt (its ``state`` is in the session) may
    sign someone in or out; anything else is a stale tab or a link made elsewhere, and its audit
    record is limited to one per source address and reason (``audit.record_anonymous``).
    """

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        self.was_signed_in = request.user.is_authenticated  # a session refresh, not a first sign-in
        state = request.GET.get("state")
        self.state_is_ours = bool(state) and state in request.session.get("oidc_states", {})
        error = request.GET.get("error")
        if error and not self.state_is_ours:
            # mozilla-django-oidc signs the person out on any error; a cross-site link must not.
            return self.foreign_answer(f"provider_error:{provider_error_code(error)}")
        if error:
            request.sign_out_reason = "the identity provider did not renew the session"
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            # An old or replayed callback (state not in this session), or a token that failed
            # verification: nobody is signed in; the person starts again.
            security_log.warning("Sign-in response rejected", extra={"error": str(exc)})
            if not self.state_is_ours:
                return self.foreign_answer("unknown_state")
            audit.record(
                request, "auth.refused", outcome="rejected", detail="the sign-in response failed verification"
            )
            messages.error(request, "Signing in did not complete. Please try again.")
            return redirect(settings.LOGIN_URL)
        except (OSError, ValueError, SSOUnavailable) as exc:
            # OSError covers every requests/urllib failure (timeouts, refused, HTTP errors).
            logger.warning("Sign-in with the identity provider failed", extra={"error": str(exc)})
            audit.record(request, "auth.refused", outcome="error", detail="identity provider unreachable")
            return unavailable_response(request)

    def foreign_answer(self, reason: str) -> HttpResponse:
        """A callback this browser did not start: recorded (rarely), and nothing changes."""
        request = self.request
        audit.record_anonymous(
            request,
            "auth.refused",
            reason=reason,
            detail=f"sign-in response without a matching sign-in attempt ({reason})",
        )
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.error(request, "Signing in did not complete. Please try again.")
        return redirect(settings.LOGIN_URL)

    @property
    def success_url(self):
        # mozilla-django-oidc checked ``next`` when the flow started; check again, it costs nothing.
        return safe_next(self.request, self.request.session.get("oidc_login_next")) or resolve_url(
            settings.LOGIN_REDIRECT_URL
        )

    def login_failure(self):
        request = self.request
        refusal = getattr(request, "sso_refusal", None)
        if refusal is None and getattr(self, "user", None) is not None and not self.user.is_active:
            refusal = deactivated(self.user.email)
        if refusal is not None:
            security_log.warning("Sign-in refused", extra={"reason": refusal.detail})
            audit.record(
                request, "auth.refused", outcome="refused", detail=refusal.detail, username=refusal.identity
            )
            return refused_response(request, refusal)
        if not self.state_is_ours:
            return self.foreign_answer("no_sign_in_attempt")
        error = request.GET.get("error", "")
        audit.record(
            request,
            "auth.refused",
            outcome="expired" if self.was_signed_in else "incomplete",
            detail=f"the identity provider answered {provider_error_code(error)}"
            if error
            else "sign-in did not complete",
        )
        if self.was_signed_in:
            messages.info(request, "Your sign-in needs to be renewed. Please sign in again.")
        else:
            messages.error(request, "Signing in did not complete. Please try again.")
        return redirect(settings.LOGIN_URL)


class SessionRefresh(oidc_middleware.SessionRefresh):
    """Re-checks the provider once the ID token is older than the refresh interval.

    Always installed; does nothing unless ``OIDC_ENABLED`` and the session came from OIDC.
    An htmx request gets ``HX-Redirect`` (a cross-site redirect inside a fragment request can't work).
    """

    def process_request(self, request):
        if not settings.OIDC_ENABLED or is_exempt(request.path) or not self.is_refreshable_url(request):
            return None
        if request.session.get("oidc_id_token_expiration", 0) > time.time():
            return None
        try:
            self.OIDC_OP_AUTHORIZATION_ENDPOINT = endpoint("authorization")
        except SSOUnavailable:
            # The provider is down: keep the session (its absolute lifetime still applies) and
            # try again on the next request, rather than locking everyone out.
            logger.warning("Could not re-check the session with the identity provider")
            return None
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_SCOPES = settings.OIDC_RP_SCOPES
        response = super().process_request(request)
        if response is not None and getattr(request, "htmx", False):
            current = getattr(request.htmx, "current_url_abs_path", None)
            request.session["oidc_login_next"] = safe_next(request, current) or resolve_url(
                settings.LOGIN_REDIRECT_URL
            )
            return HttpResponseClientRedirect(response["Location"])
        return response


# --- Sign-out at the provider (RP-initiated logout) -------------------------------------------


def is_oidc_session(request: HttpRequest) -> bool:
    return request.session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND


def provider_logout_url(request: HttpRequest) -> str:
    """Where to send the browser after signing out: the provider's end-session endpoint when it has
    one (OpenID Connect RP-Initiated Logout), so the IdP session ends too; else our sign-in page."""
    after = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    if not settings.OIDC_ENABLED or not is_oidc_session(request):
        return after
    try:
        end_session = endpoint("logout")
    except SSOUnavailable:
        end_session = ""
    if not end_session:
        return after
    params = {"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": after}
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in end_session else "?"
    return f"{end_session}{separator}{urlencode(params)}"


@dataclass(frozen=True)
class Provider:
    """What the sign-in page needs to offer single sign-on."""

    name: str
    start_url: str


def sign_in_options(request: HttpRequest, next_url: str | None) -> Provider | None:
    if not settings.OIDC_ENABLED:
        return None
    start = resolve_url("oidc_authentication_init")
    safe = safe_next(request, next_url)
    if safe:
        start = f"{start}?{urlencode({'next': safe})}"
    return Provider(settings.OIDC_PROVIDER_NAME, start)
