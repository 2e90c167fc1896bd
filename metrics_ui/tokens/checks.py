"""System checks: the console refuses to start with a token key list it cannot trust.

Registered in ``MetricsUiConfig.ready``. ``manage.py check``, ``migrate`` and ``runserver`` run them;
in production ``ready`` also raises on an error so a WSGI server (which runs no checks) fails too.
Messages never echo a key, only its position in the list.
"""

import binascii

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks

HINT = (
    'Generate a key with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"  and put it first in EMBRACE_TOKEN_KEYS '
    "(comma-separated, newest first). Keep the old key after it until rotate_token_keys has run."
)


@checks.register(checks.Tags.security)
def check_token_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    keys = list(getattr(settings, "EMBRACE_TOKEN_KEYS", None) or [])
    if not keys:
        return [
            checks.Error(
                "EMBRACE_TOKEN_KEYS is empty: saved Embrace tokens could be neither encrypted nor read.",
                hint=HINT,
                id="metrics_ui.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError, binascii.Error):
            errors.append(
                checks.Error(
                    f"Key number {position} in EMBRACE_TOKEN_KEYS is not a valid Fernet key "
                    "(it must be 32 bytes, url-safe base64 encoded: 44 characters ending in '=').",
                    hint=HINT,
                    id="metrics_ui.E002",
                )
            )
    if settings.PRODUCTION and settings.DEV_TOKEN_KEY in keys:
        errors.append(
            checks.Error(
                "EMBRACE_TOKEN_KEYS contains the public development key, which cannot protect "
                "tokens in production.",
                hint=HINT,
                id="metrics_ui.E003",
            )
        )
    return errors
