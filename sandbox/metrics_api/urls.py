"""The Metrics API's routes, mounted under ``metrics/`` (Embrace serves it at ``<host>/metrics``)."""

from django.urls import path, re_path

from sandbox.metrics_api import views

urlpatterns = [
    path("api/v1/query_range", views.query_range, name="sandbox_metrics_query_range"),
    path("api/v1/query", views.query, name="sandbox_metrics_query"),
    path("api/v1/labels", views.labels, name="sandbox_metrics_labels"),
    path("api/v1/label/<str:name>/values", views.label_values, name="sandbox_metrics_label_values"),
    re_path(r"^(?P<path>api/[\s\S]*)$", views.not_found, name="sandbox_metrics_not_found"),
]
