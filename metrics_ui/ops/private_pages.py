"""Pages for a signed-in person are never stored, by the browser or by a shared cache.

Every response to a signed-in person gets Django's ``never_cache`` headers (``no-store`` among them), so
after signing out the Back button shows nothing the person saw, and a proxy never hands one person's page to
another. Static files (answered by whitenoise before this runs) and the probes keep their own caching.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from metrics_ui.accounts.sessions import is_exempt


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


class NoStoreForSignedInMiddleware:
    """Marks a response ``no-store`` when the person was signed in before or after the view ran
    (a sign-in answers a person who is now signed in; a sign-out, one who just was)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_exempt(request.path):
            return self.get_response(request)
        signed_in = _signed_in(request)
        response = self.get_response(request)
        if signed_in or _signed_in(request):
            add_never_cache_headers(response)
        return response
