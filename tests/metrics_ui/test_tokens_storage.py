"""Tokens at rest: encrypted under the dedicated key list, never in clear, never in repr/str, and a key
list that cannot protect them stops the console from starting."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

from metrics_ui.models import ApiToken, User
from metrics_ui.tokens import encryption
from metrics_ui.tokens.checks import check_token_keys

PLAINTEXT = "tok_ABCDEFGHIJKLMNOPQRSTUVWXYZ1234"
KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def token(db, settings) -> ApiToken:
    settings.EMBRACE_TOKEN_KEYS = [KEY]
    user = User.objects.create_user("alice")
    token = ApiToken(user=user, label="Production apps", region="sandbox")
    token.set_token(PLAINTEXT)
    token.save()
    return token


def _b64_variants(text: str) -> list[str]:
    raw = text.encode()
    encoded = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return encoded + [value.rstrip("=") for value in encoded]


def test_raw_database_row_holds_a_fernet_token_not_the_token_or_its_base64(token):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM metrics_ui_apitoken WHERE id = %s", [token.pk])
        row = [str(value) for value in cursor.fetchone()]
        cursor.execute("SELECT ciphertext FROM metrics_ui_apitoken WHERE id = %s", [token.pk])
        (ciphertext,) = cursor.fetchone()
    whole_row = " ".join(row)
    assert ciphertext.startswith("gAAAAA")
    assert PLAINTEXT not in whole_row
    for variant in _b64_variants(PLAINTEXT):
        assert variant not in whole_row
    assert encryption.decrypt(ciphertext) == PLAINTEXT


def test_only_the_last_four_characters_are_kept_in_clear(token):
    assert token.last4 == "1234"
    assert token.masked == "••••1234"


def test_repr_and_str_show_id_label_and_last_four_only(token):
    for text in (repr(token), str(token)):
        assert PLAINTEXT not in text
        assert token.ciphertext not in text
        assert str(token.pk) in text
        assert "Production apps" in text
        assert "••••1234" in text


def test_a_token_encrypted_under_a_removed_key_is_reported_unreadable(token, settings):
    settings.EMBRACE_TOKEN_KEYS = [OTHER_KEY]
    with pytest.raises(encryption.TokenUnreadable):
        encryption.decrypt(token.ciphertext)


def test_keys_are_read_at_call_time_so_a_new_first_key_encrypts_new_tokens(settings):
    settings.EMBRACE_TOKEN_KEYS = [OTHER_KEY, KEY]
    ciphertext = encryption.encrypt(PLAINTEXT)
    assert Fernet(OTHER_KEY).decrypt(ciphertext.encode()).decode() == PLAINTEXT


@pytest.mark.parametrize(
    ("keys", "production", "error_id"),
    [
        ([], False, "metrics_ui.E001"),
        (["not-a-fernet-key"], False, "metrics_ui.E002"),
        ([KEY, "c2hvcnQ="], False, "metrics_ui.E002"),
        ([KEY, "DEV"], True, "metrics_ui.E003"),
    ],
    ids=["empty", "malformed", "second-key-malformed", "development-key-in-production"],
)
def test_system_check_refuses_a_key_list_that_cannot_protect_tokens(settings, keys, production, error_id):
    settings.PRODUCTION = production
    settings.EMBRACE_TOKEN_KEYS = [settings.DEV_TOKEN_KEY if key == "DEV" else key for key in keys]
    errors = check_token_keys()
    assert [e.id for e in errors] == [error_id]
    assert all(isinstance(e, Error) for e in errors)
    for key in keys:
        assert key == "DEV" or key not in errors[0].msg, "a key must never be echoed"


def test_the_development_key_is_accepted_in_development_mode(settings):
    settings.PRODUCTION = False
    settings.EMBRACE_TOKEN_KEYS = [settings.DEV_TOKEN_KEY]
    assert check_token_keys() == []


def test_manage_py_check_fails_with_a_clear_message_for_a_malformed_key(db, settings):
    settings.EMBRACE_TOKEN_KEYS = ["not-a-fernet-key"]
    with pytest.raises(SystemCheckError, match="not a valid Fernet key"):
        call_command("check")


def test_production_start_up_fails_with_a_malformed_key():
    """A WSGI server runs no system checks: loading the application itself must refuse the key."""
    env = {
        **os.environ,
        "CONSOLE_MODE": "production",
        "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "ALLOWED_HOSTS": "console.example.com",
        "EMBRACE_TOKEN_KEYS": "this-is-not-a-fernet-key",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    env.pop("DEMO_LOGIN_ENABLED", None)
    result = subprocess.run(
        [sys.executable, "-c", "import dashboard.wsgi"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Key number 1 in EMBRACE_TOKEN_KEYS is not a valid Fernet key" in result.stderr
    assert "this-is-not-a-fernet-key" not in result.stderr
