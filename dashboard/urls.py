from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("", include("metrics_ui.urls")),
    # OpenID Connect sign-in: authenticate/, callback/, logout/ (see metrics_ui/accounts/oidc.py).
    path("oidc/", include("mozilla_django_oidc.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("custom-metrics/", include("sandbox.urls")))

# Our own faults: a page with the request's reference id and no details (metrics_ui/ops/errors.py).
handler500 = "metrics_ui.ops.errors.server_error"

# Oversized or malformed requests: a page in plain words, 413 when too large (ops/errors.bad_request).
handler400 = "metrics_ui.ops.errors.bad_request"

# Every access refusal enters the audit trail before the 403 page (metrics_ui/accounts/views.py).
handler403 = "metrics_ui.accounts.views.forbidden"
