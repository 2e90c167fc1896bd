from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class MetricsUiConfig(AppConfig):
    name = "metrics_ui"

    def ready(self) -> None:
        from django.conf import settings

        # audit and sessions connect the sign-in/sign-out receivers (audit trail, sign-in stamp).
        from metrics_ui import audit, checks, sessions  # noqa: F401

        # Fail closed: in production a bad token key list stops every process at start-up,
        # including WSGI servers, which do not run system checks.
        if settings.PRODUCTION:
            errors = checks.check_token_keys()
            if errors:
                raise ImproperlyConfigured(" ".join(f"{e.msg} {e.hint}" for e in errors))
