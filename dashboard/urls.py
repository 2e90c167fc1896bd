from django.conf import settings
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


class FaviconRedirect(RedirectView):
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon.

    The URL is looked up per request: in production it carries the manifest's hashed name."""

    permanent = False

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("img/favicon.svg")


urlpatterns = [
    path("", include("metrics_ui.urls")),
    # OpenID Connect sign-in: authenticate/, callback/, logout/ (see metrics_ui/accounts/oidc.py).
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("favicon.ico", FaviconRedirect.as_view(), name="favicon"),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("custom-metrics/", include("sandbox.urls")))
    urlpatterns.append(path("metrics/", include("sandbox.metrics_api.urls")))

# Our own faults: a page with the request's reference id and no details (metrics_ui/ops/errors.py).
handler500 = "metrics_ui.ops.errors.server_error"

# Oversized or malformed requests: a page in plain words, 413 when too large (ops/errors.bad_request).
handler400 = "metrics_ui.ops.errors.bad_request"

# Every access refusal enters the audit trail before the 403 page (metrics_ui/accounts/views.py).
handler403 = "metrics_ui.accounts.views.forbidden"
