"""``rotate_token_keys``: every stored token moves under the newest key; re-runs change nothing;
a token no configured key can read is reported, left alone, and makes the command fail."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from metrics_ui.models import ApiToken, AuditRecord, User
from metrics_ui.tokens import access, encryption

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
LOST = Fernet.generate_key().decode()
PLAINTEXTS = ["tok_first_token_aaaa1111", "tok_second_token_bbbb2222", "tok_third_token_cccc3333"]


def rotate() -> str:
    out = StringIO()
    call_command("rotate_token_keys", stdout=out)
    return out.getvalue()


@pytest.fixture
def tokens(db, settings) -> list[ApiToken]:
    settings.EMBRACE_TOKEN_KEYS = [OLD]
    user = User.objects.create_user("alice")
    rows = []
    for number, plaintext in enumerate(PLAINTEXTS):
        token = ApiToken(user=user, label=f"Token {number}", region="sandbox")
        token.set_token(plaintext)
        token.save()
        token.set_apps([f"app{number}"])
        rows.append(token)
    return rows


def test_rotation_moves_every_token_under_the_new_key_and_a_rerun_changes_nothing(tokens, settings):
    settings.EMBRACE_TOKEN_KEYS = [NEW, OLD]
    assert [encryption.decrypt(t.ciphertext) for t in tokens] == PLAINTEXTS  # readable before rotation

    first = rotate()
    assert "Re-encrypted under the newest key: 3" in first
    assert "Already under the newest key: 0" in first
    assert "Unreadable with the configured keys: 0" in first
    after_first = list(ApiToken.objects.order_by("pk").values_list("ciphertext", flat=True))

    second = rotate()
    assert "Re-encrypted under the newest key: 0" in second
    assert "Already under the newest key: 3" in second
    assert list(ApiToken.objects.order_by("pk").values_list("ciphertext", flat=True)) == after_first
    runs = AuditRecord.objects.filter(action="token.rotate").order_by("pk")
    assert [(r.body["rotated"], r.outcome) for r in runs] == [(3, "success"), (0, "success")]

    settings.EMBRACE_TOKEN_KEYS = [NEW]
    rows = ApiToken.objects.order_by("pk")
    assert [encryption.decrypt(t.ciphertext) for t in rows] == PLAINTEXTS
    assert all(t.ciphertext.startswith("gAAAAA") for t in rows)


def test_rotation_does_not_change_when_the_user_saved_the_token(tokens, settings):
    before = {t.pk: t.updated_at for t in ApiToken.objects.all()}
    settings.EMBRACE_TOKEN_KEYS = [NEW, OLD]
    rotate()
    assert {t.pk: t.updated_at for t in ApiToken.objects.all()} == before


def test_a_token_under_a_lost_key_is_reported_left_alone_and_fails_the_command(tokens, settings):
    lost = tokens[1]
    settings.EMBRACE_TOKEN_KEYS = [LOST]
    lost.set_token("tok_encrypted_under_lost_key_9999")
    lost.save()
    settings.EMBRACE_TOKEN_KEYS = [NEW, OLD]
    lost_ciphertext = ApiToken.objects.get(pk=lost.pk).ciphertext

    out = StringIO()
    with pytest.raises(CommandError, match="1 token"):
        call_command("rotate_token_keys", stdout=out)
    report = out.getvalue()
    assert "Re-encrypted under the newest key: 2" in report
    assert "Unreadable with the configured keys: 1" in report
    assert "Token 1" in report and "alice" in report and "enter the token again" in report
    assert "tok_encrypted_under_lost_key_9999" not in report
    assert ApiToken.objects.get(pk=lost.pk).ciphertext == lost_ciphertext
    assert AuditRecord.objects.get(action="token.rotate").outcome == "partial"

    with pytest.raises(access.TokenUnreadable):
        access.client_for(lost.user, "app1")
    assert access.client_for(lost.user, "app0") is not None
