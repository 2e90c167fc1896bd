from django.conf import settings
from django.urls import include, path

urlpatterns = [
    path("", include("metrics_ui.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("custom-metrics/", include("sandbox.urls")))
