"""Who may do what. Every view checks here, full page and HTMX fragment alike.

Roles: a viewer browses; an editor also creates and deletes; an admin also reads everyone's audit
trail and manages users.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect


def _login_redirect(request: HttpRequest) -> HttpResponse:
    htmx = getattr(request, "htmx", False)
    # After signing in, an htmx request's person returns to the page they were on, not to the
    # fragment's URL (which may only answer POST).
    current = htmx.current_url_abs_path if htmx else None
    response = redirect_to_login(current or request.get_full_path(), settings.LOGIN_URL)
    if htmx:
        # Never swap a sign-in page into a fragment: send the whole browser to sign in.
        return HttpResponseClientRedirect(response["Location"])
    return response


def _requires(check: Callable[[object], bool]):
    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return _login_redirect(request)
            if not check(user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def has_access(user) -> bool:
    """Active, and holding one of the three roles (a user without a role sees nothing)."""
    return user.is_active and user.role in {"viewer", "editor", "admin"}


viewer_required = _requires(has_access)
editor_required = _requires(lambda user: has_access(user) and user.can_edit)
admin_required = _requires(lambda user: has_access(user) and user.is_console_admin)
