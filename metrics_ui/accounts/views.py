"""Signing in and out: single sign-on (``metrics_ui.accounts.oidc``) everywhere, the demo user's password form
in development only, break-glass links when enabled, and the 403 handler that audits refusals.

Django's ``LoginView`` only follows a ``next`` that passes ``url_has_allowed_host_and_scheme``
(same host, and https when the request is secure); anything else lands on ``LOGIN_REDIRECT_URL``.
"""

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import permission_denied
from django_htmx.http import HttpResponseClientRedirect

from metrics_ui.accounts import breakglass, signin_limit
from metrics_ui.accounts import oidc as sso
from metrics_ui.audit import trail as audit
from metrics_ui.ops import ratelimit


def login(request: HttpRequest) -> HttpResponse:
    if not settings.DEMO_LOGIN_ENABLED:
        return sso_login(request)
    # The credentials hint is for development mode only (settings refuse the demo sign-in in production;
    # checking both keeps the hint off even if that ever changed).
    demo = {"username": settings.DEMO_USERNAME, "password": settings.DEMO_PASSWORD}
    if request.method == "POST" and signin_limit.limited(request):
        return _sign_in_refused(request, demo)
    return auth_views.LoginView.as_view(
        template_name="accounts/login.html",
        redirect_authenticated_user=True,
        extra_context={
            "demo": None if settings.PRODUCTION else demo,
            "sso": sso.sign_in_options(request, request.GET.get("next") or request.POST.get("next")),
        },
    )(request)


def _sign_in_refused(request: HttpRequest, demo: dict) -> HttpResponse:
    """The sign-in page again, username kept, saying why; the password is not even checked."""
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")[:150]})
    context = {
        "form": form,
        "refused": signin_limit.MESSAGE,
        "demo": None if settings.PRODUCTION else demo,
        "next": sso.safe_next(request, request.POST.get("next")) or "",
        "sso": sso.sign_in_options(request, request.POST.get("next")),
    }
    return ratelimit.refused(request, render(request, "accounts/login.html", context))


# --- Single sign-on, the no-access page, sign-out, break-glass and 403s -------------------------


@require_GET
def sso_login(request: HttpRequest) -> HttpResponse:
    """Production's sign-in page: a "Sign in with <provider>" button and no password form."""
    next_url = request.GET.get("next")
    if request.user.is_authenticated:
        return redirect(sso.safe_next(request, next_url) or settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "accounts/login.html",
        {"sso": sso.sign_in_options(request, next_url), "proxy_mode": settings.PROXY_AUTH_ENABLED},
    )


@require_GET
def no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/no_access.html", {"refusal": None})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Signs out here, and at the identity provider too when it supports RP-initiated logout."""
    destination = sso.provider_logout_url(request)
    auth_logout(request)
    if request.htmx:
        return HttpResponseClientRedirect(destination)
    return redirect(destination)


@sensitive_variables("token")
def breakglass_login(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The one-time link printed by ``manage.py breakglass_login``. GET asks, POST signs in, so a
    link preview or scanner that fetches the URL does not use it up."""
    if not settings.BREAKGLASS_ENABLED or request.method not in {"GET", "POST"}:
        raise Http404
    user = breakglass.user_for_link(uidb64, token)
    if user is None:
        audit.record_anonymous(
            request,
            "auth.refused",
            reason="breakglass_invalid",
            outcome="refused",
            detail="break-glass link invalid or used",
        )
        return render(request, "accounts/breakglass.html", {"valid": False}, status=404)
    if request.method == "GET":
        return render(request, "accounts/breakglass.html", {"valid": True, "account": user})
    request.sign_in_via = "break-glass link"
    auth_login(request, user, backend=breakglass.BACKEND)
    return redirect(settings.LOGIN_REDIRECT_URL)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler403``: every refusal (a role too low, a deactivated account) enters the audit trail."""
    audit.record(request, "auth.forbidden", outcome="forbidden", detail=request.path[:500])
    return permission_denied(request, exception)
