"""Encryption at rest for the users' Embrace API tokens.

A token has to be *sent* upstream, so it is encrypted (reversibly), never hashed. The keys are a
MultiFernet list from ``settings.EMBRACE_TOKEN_KEYS``, newest first and separate from ``SECRET_KEY``:
the first key encrypts, any key decrypts, so a new key can be added in front of the old one and the
``rotate_token_keys`` command then re-encrypts every row under it.

Keys are read at call time (not at import) so that a settings change, in tests or after a reload,
takes effect at once. Building a MultiFernet is a few base64 decodes: cheap next to a network call.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenUnreadable(Exception):
    """No key in ``EMBRACE_TOKEN_KEYS`` can decrypt a stored token (its key was removed)."""


def _keys() -> list[Fernet]:
    # A malformed or missing key list is stopped at start-up by metrics_ui.tokens.checks; this is the
    # last line of defence, and it never echoes the key.
    return [Fernet(key) for key in settings.EMBRACE_TOKEN_KEYS]


def _multi() -> MultiFernet:
    return MultiFernet(_keys())


def encrypt(plaintext: str) -> str:
    """The Fernet token (ASCII, starts with ``gAAAAA``) for ``plaintext``, under the newest key."""
    return _multi().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    """The plaintext of a stored token. Raises ``TokenUnreadable`` when no configured key reads it."""
    try:
        return _multi().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise TokenUnreadable from exc


def is_current(ciphertext: str) -> bool:
    """True when the newest key already reads ``ciphertext`` (so rotating it would change nothing)."""
    try:
        _keys()[0].decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def rotate(ciphertext: str) -> str:
    """``ciphertext`` re-encrypted under the newest key. Raises ``TokenUnreadable`` if no key reads it."""
    try:
        return _multi().rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise TokenUnreadable from exc
