"""Accounts are bound to the identity provider's subject (issuer + sub), not to an e-mail address.

End to end: a real provider process (the mock, and where it matters the certified one too), the
console on ``live_server``, and ``requests`` sessions as browsers."""

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from metrics_ui.models import ApiToken, AuditRecord, User
from tests.auth.conftest import ADMIN, BOTH, EDITOR, SUPPORT, VIEWER
from tests.ops.support import production_env, run_python, settings_in

pytestmark = pytest.mark.django_db(transaction=True)

NO_ACCESS = f"You don't have access to Custom Metrics Console; ask {SUPPORT}"


def signed_in_as(browser: requests.Session, console: str) -> bool:
    return browser.get(f"{console}/", allow_redirects=False, timeout=10).status_code == 200


@pytest.mark.parametrize("idp", BOTH, indirect=True)
def test_the_first_sign_in_stores_the_providers_subject_and_later_ones_match_on_it(sign_in, idp):
    first = sign_in("alice@example.com", EDITOR, sub="alice-0001", email_verified=True)
    assert first.response.status_code == 200
    alice = User.objects.get(email="alice@example.com")
    assert (alice.oidc_issuer, alice.oidc_subject) == (idp.url, "alice-0001")

    # The provider changes Alice's address (a rename, a new domain): still the same account.
    again = sign_in("alice.able@example.com", VIEWER, sub="alice-0001", email_verified=True)
    assert again.response.status_code == 200
    assert User.objects.count() == 1
    alice.refresh_from_db()
    assert (alice.email, alice.role, alice.oidc_subject) == ("alice.able@example.com", "viewer", "alice-0001")


@pytest.mark.parametrize("idp", BOTH, indirect=True)
def test_a_second_subject_claiming_a_bound_email_is_refused_and_changes_nothing(sign_in, live_server, idp):
    alice_browser = sign_in("alice@example.com", EDITOR, sub="alice-0001", email_verified=True).browser
    alice = User.objects.get(email="alice@example.com")
    token = ApiToken(user=alice, label="Sandbox", region="sandbox")
    token.set_token("alice-secret-token-1234")
    token.save()
    tokens_before = list(ApiToken.objects.filter(user=alice).values_list("pk", "ciphertext", "last4"))

    # Another account at the provider, whose owner set its (verified!) address to Alice's.
    taker = sign_in("alice@example.com", ADMIN, sub="mallory-0666", email_verified=True)

    assert taker.response.status_code == 403 and NO_ACCESS in taker.response.text
    assert not signed_in_as(taker.browser, live_server.url)
    alice.refresh_from_db()
    assert (alice.role, alice.oidc_subject) == ("editor", "alice-0001")
    assert list(ApiToken.objects.filter(user=alice).values_list("pk", "ciphertext", "last4")) == tokens_before
    assert signed_in_as(alice_browser, live_server.url)  # her session goes on
    assert User.objects.count() == 1
    refused = AuditRecord.objects.get(action="auth.refused")
    assert refused.username == "alice@example.com" and "bound to another identity-provider account" in (
        refused.detail
    )


def test_an_existing_account_is_linked_by_a_verified_email_once_and_the_link_is_audited(sign_in):
    # Made by an admin (or the demo set-up, or before accounts were bound): no subject yet.
    existing = User.objects.create_user("bob@example.com", email="bob@example.com", role="viewer")

    result = sign_in("bob@example.com", EDITOR, sub="bob-0002", email_verified=True)

    assert result.response.status_code == 200
    existing.refresh_from_db()
    assert (existing.oidc_subject, existing.role) == ("bob-0002", "editor")
    assert User.objects.count() == 1
    assert AuditRecord.objects.get(action="auth.linked").user == existing
    # Once: another subject with the same verified address no longer gets it.
    other = sign_in("bob@example.com", EDITOR, sub="bob-other", email_verified=True)
    assert other.response.status_code == 403
    existing.refresh_from_db()
    assert existing.oidc_subject == "bob-0002"


@pytest.mark.parametrize("claim", [{}, {"email_verified": False}], ids=["missing", "false"])
def test_an_existing_account_is_not_linked_unless_the_provider_says_the_email_is_verified(sign_in, claim):
    existing = User.objects.create_user("carol@example.com", email="carol@example.com", role="admin")

    result = sign_in("carol@example.com", ADMIN, sub="carol-0003", **claim)

    assert result.response.status_code == 403 and NO_ACCESS in result.response.text
    existing.refresh_from_db()
    assert existing.oidc_subject == "" and existing.role == "admin"
    assert "verified" in AuditRecord.objects.get(action="auth.refused").detail


def test_a_new_person_gets_a_new_account_bound_to_the_subject_without_a_verified_claim(sign_in):
    result = sign_in("dora@example.com", VIEWER, sub="dora-0004")
    assert result.response.status_code == 200
    assert User.objects.get(email="dora@example.com").oidc_subject == "dora-0004"


def test_with_email_linking_never_an_existing_account_is_not_linked(sign_in, oidc_settings):
    oidc_settings.OIDC_EMAIL_LINKING = "never"
    existing = User.objects.create_user("erin@example.com", email="erin@example.com", role="viewer")

    result = sign_in("erin@example.com", EDITOR, sub="erin-0005", email_verified=True)

    assert result.response.status_code == 403
    existing.refresh_from_db()
    assert existing.oidc_subject == "" and existing.role == "viewer"
    assert "OIDC_EMAIL_LINKING" in AuditRecord.objects.get(action="auth.refused").detail


def test_with_email_linking_never_an_admin_links_an_account_to_a_given_subject(sign_in, oidc_settings, idp):
    oidc_settings.OIDC_EMAIL_LINKING = "never"
    existing = User.objects.create_user("gail@example.com", email="gail@example.com", role="viewer")
    User.objects.create_user("holder", oidc_issuer=idp.url, oidc_subject="taken-0007")

    with pytest.raises(CommandError, match="linked to 'holder'"):
        call_command("oidc_link", "gail@example.com", "taken-0007")
    call_command("oidc_link", "gail@example.com", "gail-0007")

    linked = AuditRecord.objects.get(action="auth.linked")
    assert linked.user == existing and "command line" in linked.detail
    result = sign_in("gail@example.com", EDITOR, sub="gail-0007")  # no verified claim needed now
    assert result.response.status_code == 200
    existing.refresh_from_db()
    assert (existing.oidc_issuer, existing.oidc_subject, existing.role) == (idp.url, "gail-0007", "editor")


def test_an_admin_can_unlink_an_account_so_the_next_verified_sign_in_links_it_again(sign_in, capsys):
    sign_in("frank@example.com", EDITOR, sub="frank-old-id", email_verified=True)
    frank = User.objects.get(email="frank@example.com")
    # Frank's provider account was replaced: the new one is refused until an admin re-links.
    assert (
        sign_in("frank@example.com", EDITOR, sub="frank-new-id", email_verified=True).response.status_code
        == 403
    )

    call_command("oidc_unlink", "frank@example.com")

    assert "no longer linked" in capsys.readouterr().out
    unlinked = AuditRecord.objects.get(action="auth.unlinked")
    assert unlinked.user == frank
    again = sign_in("frank@example.com", EDITOR, sub="frank-new-id", email_verified=True)
    assert again.response.status_code == 200
    frank.refresh_from_db()
    assert frank.oidc_subject == "frank-new-id" and User.objects.count() == 1


def test_unlinking_an_unknown_account_says_so(db):
    with pytest.raises(CommandError, match="no console account"):
        call_command("oidc_unlink", "nobody@example.com")


def test_two_accounts_can_not_share_one_subject(db):
    User.objects.create_user("a", oidc_issuer="https://idp.example", oidc_subject="same")
    User.objects.create_user("b")  # unbound accounts don't collide
    User.objects.create_user("c")
    with pytest.raises(IntegrityError):
        User.objects.create_user("d", oidc_issuer="https://idp.example", oidc_subject="same")


def test_email_linking_defaults_to_verified_and_a_bad_value_stops_the_start():
    assert settings_in(production_env(), "OIDC_EMAIL_LINKING") == {"OIDC_EMAIL_LINKING": "verified"}
    assert settings_in(production_env(OIDC_EMAIL_LINKING="never"), "OIDC_EMAIL_LINKING") == {
        "OIDC_EMAIL_LINKING": "never"
    }
    bad = run_python("import django; django.setup()", production_env(OIDC_EMAIL_LINKING="always"))
    assert bad.returncode != 0 and 'OIDC_EMAIL_LINKING must be "verified" or "never"' in bad.stderr
