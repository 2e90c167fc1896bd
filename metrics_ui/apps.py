from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class MetricsUiConfig(AppConfig):
    name = "metrics_ui"

    def ready(self) -> None:
        from django.conf import settings

        from metrics_ui.accounts import sessions  # noqa: F401

        # audit and sessions connect the sign-in/sign-out receivers (audit trail, sign-in stamp).
        from metrics_ui.audit import trail as audit  # noqa: F401
        from metrics_ui.tokens import checks

        # Fail closed: in production a bad token key list stops every process at start-up,
        # including WSGI servers, which do not run system checks.
        if settings.PRODUCTION:
            errors = checks.check_token_keys()
            if errors:
                raise ImproperlyConfigured(" ".join(f"{e.msg} {e.hint}" for e in errors))
