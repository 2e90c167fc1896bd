from django.apps import AppConfig


class MetricsUiConfig(AppConfig):
    name = "metrics_ui"
