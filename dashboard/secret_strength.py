"""Whether a signing key is strong enough for production, in plain words naming the setting.

Read by ``dashboard/settings.py`` at start-up, so a WSGI server (which runs no system checks) refuses a
weak ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` too. The thresholds are Django's own deploy check's
(``security.W009``): at least 50 characters, at least 5 different ones, not a generated-insecure key.
Messages never echo a key, only its setting and position.
"""

from collections.abc import Iterable

MIN_LENGTH = 50
MIN_DISTINCT_CHARACTERS = 5
# Django's startproject marks the keys it writes with this prefix; they are in countless repositories.
_INSECURE_PREFIX = "django-insecure-"
# The placeholder in deploy/kubernetes/secret.example.yaml, should someone apply the example as it is.
_PLACEHOLDERS = frozenset({"<a long random string>"})
HINT = 'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'


def weakness(key: str, development_key: str) -> str | None:
    """Why ``key`` can't sign sessions in production, or None when it can."""
    if key == development_key or key in _PLACEHOLDERS or key.startswith(_INSECURE_PREFIX):
        return (
            "is a public development or example value (the development secrets cannot be used in production)"
        )
    if len(key) < MIN_LENGTH:
        return f"is too short: it has {len(key)} characters and needs at least {MIN_LENGTH}"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"repeats too few characters: it needs at least {MIN_DISTINCT_CHARACTERS} different ones"
    return None


def problems(secret_key: str, fallbacks: Iterable[str], development_key: str) -> list[str]:
    """One sentence per weak key, naming the setting (and the fallback's position), each with the hint."""
    found = []
    reason = weakness(secret_key, development_key)
    if reason:
        found.append(f"SECRET_KEY {reason}. {HINT}")
    for position, key in enumerate(fallbacks, start=1):
        reason = weakness(key, development_key)
        if reason:
            found.append(
                f"SECRET_KEY_FALLBACKS: key number {position} {reason}. Remove it, or replace it; {HINT}"
            )
    return found
