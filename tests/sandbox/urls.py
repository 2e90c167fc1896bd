"""Only the sandbox, mounted where dashboard/urls.py mounts it: keeps the sandbox's tests independent
of the console's views (a broken console view must not hide a sandbox regression, or vice versa)."""

from django.urls import include, path

urlpatterns = [
    path("custom-metrics/", include("sandbox.urls")),
    path("metrics/", include("sandbox.metrics_api.urls")),
]
