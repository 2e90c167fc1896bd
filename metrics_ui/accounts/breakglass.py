"""Break-glass sign-in: a local admin for when single sign-on itself is broken.

Off unless ``BREAKGLASS_ENABLED=true``. The ``breakglass_login`` management command creates (or
updates) the local admin and prints a one-time link. The link is signed, expires after
``BREAKGLASS_LINK_SECONDS``, and stops working once used (its signature covers the account's last
sign-in time) or once the command runs again (it covers the password field too, which each run
resets to a new unusable value). There is never a password to type, so production has no password
form at all.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

BACKEND = "django.contrib.auth.backends.ModelBackend"


class _LinkTokens(PasswordResetTokenGenerator):
    key_salt = "metrics_ui.breakglass.link"

    def _make_hash_value(self, user, timestamp) -> str:
        login_time = "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
        return f"{user.pk}{user.password}{login_time}{timestamp}{user.is_active}{user.role}"

    def check_token(self, user, token) -> bool:
        if not super().check_token(user, token):
            return False
        # PASSWORD_RESET_TIMEOUT is days-long; a break-glass link lives minutes.
        issued = base36_to_int(token.partition("-")[0])
        return self._num_seconds(self._now()) - issued <= settings.BREAKGLASS_LINK_SECONDS


_tokens = _LinkTokens()


def issue_link(user) -> str:
    """The path of a fresh one-time sign-in link for ``user``."""
    return reverse(
        "breakglass_login",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": _tokens.make_token(user)},
    )


def user_for_link(uidb64: str, token: str):
    """The admin the link signs in, or ``None`` (wrong, expired, used, or not a break-glass admin)."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        return None
    user = get_user_model().objects.filter(pk=pk, is_active=True, role="admin").first()
    if user is None or user.has_usable_password() or not _tokens.check_token(user, token):
        return None
    return user
