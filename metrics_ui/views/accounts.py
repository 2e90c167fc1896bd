"""Signing in and out. Until SSO lands, the demo user signs in with Django's login form."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST


def login(request: HttpRequest) -> HttpResponse:
    if not settings.DEMO_LOGIN_ENABLED:
        raise Http404
    return auth_views.LoginView.as_view(
        template_name="accounts/login.html", redirect_authenticated_user=True
    )(request)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view()(request)
