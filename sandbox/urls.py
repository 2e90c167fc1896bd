"""The sandbox's routes, mounted under ``custom-metrics/``.

``parameters`` is routed before the ``{custom_metric_name}`` route (only DELETE uses a name), and
a catch-all answers every other path with a JSON 404 rather than Django's HTML page.
"""

from django.urls import path, re_path

from sandbox import views

# [^/]* rather than a path converter, so an empty app id reaches the view and gets the
# documented 400 "app id can't be empty" instead of an unmatched-route 404.
_APP = r"^api/v1/app/(?P<app_id>[^/]*)/custom-metrics"

urlpatterns = [
    path("openapi.json", views.openapi, name="sandbox_openapi"),
    re_path(_APP + r"$", views.custom_metrics, name="sandbox_custom_metrics"),
    re_path(_APP + r"/parameters$", views.parameters, name="sandbox_parameters"),
    re_path(_APP + r"/(?P<name>[^/]*)$", views.custom_metric, name="sandbox_custom_metric"),
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found, name="sandbox_not_found"),
]
