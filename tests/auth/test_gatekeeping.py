"""The gate shared by OIDC and the proxy mode: who gets in, and with which role."""

import pytest

from metrics_ui.accounts.identity import Refused, gatekeep, groups_from


@pytest.mark.parametrize(
    ("email", "groups", "verified", "role"),
    [
        ("alice@example.com", ["console-users", "console-viewers"], True, "viewer"),
        ("alice@EXAMPLE.com", ["console-users", "console-editors"], True, "editor"),
        ("alice@example.com", ["console-users", "console-viewers", "console-admins"], True, "admin"),
        ("alice@example.com", ["console-users", "console-editors", "console-viewers"], None, "editor"),
    ],
    ids=["viewer", "domain-any-case", "highest-role-wins", "no-verified-claim"],
)
def test_the_role_is_the_highest_a_group_grants(gate, email, groups, verified, role):
    assert gatekeep(email, groups, email_verified=True if verified is None else verified) == role


@pytest.mark.parametrize(
    ("email", "groups", "verified", "detail"),
    [
        ("", ["console-users", "console-viewers"], True, "no e-mail address"),
        ("alice", ["console-users", "console-viewers"], True, "no e-mail address"),
        ("@example.com", ["console-users", "console-viewers"], True, "no e-mail address"),
        ("alice@example.com", ["console-users", "console-viewers"], False, "not verified"),
        ("alice@example.com", ["console-users", "console-viewers"], "false", "not verified"),
        ("alice@sub.example.com", ["console-users", "console-viewers"], True, "'sub.example.com'"),
        ("alice@example.com", ["console-viewers"], True, "REQUIRED_GROUPS"),
        ("alice@example.com", ["console-users", "Console-Viewers"], True, "no role group matched"),
        ("alice@example.com", [], True, "REQUIRED_GROUPS"),
    ],
    ids=[
        "empty", "no-at", "no-local-part", "unverified", "unverified-string", "subdomain",
        "missing-required-group", "group-case-matters", "no-groups",
    ],
)  # fmt: skip
def test_everyone_else_is_refused_with_the_reason(gate, email, groups, verified, detail):
    with pytest.raises(Refused) as refused:
        gatekeep(email, groups, email_verified=verified)
    assert detail in refused.value.detail
    # What the person reads never reveals the configuration.
    assert "console-" not in refused.value.message and "example.com" not in refused.value.message


def test_without_any_role_groups_nobody_gets_in_and_the_log_says_why(gate):
    gate.ROLE_GROUPS_VIEWER = gate.ROLE_GROUPS_EDITOR = gate.ROLE_GROUPS_ADMIN = []
    with pytest.raises(Refused, match="no role groups are configured"):
        gatekeep("alice@example.com", ["console-users", "console-admins"])


def test_without_domain_or_required_group_rules_the_role_groups_still_gate(gate):
    gate.ALLOWED_EMAIL_DOMAINS = []
    gate.REQUIRED_GROUPS = []
    assert gatekeep("alice@anywhere.example", ["console-viewers"]) == "viewer"
    with pytest.raises(Refused):
        gatekeep("alice@anywhere.example", ["other"])


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        (["a", "b"], ["a", "b"]),
        ("a, b,,c ", ["a", "b", "c"]),
        ("", []),
        (None, []),
        ({"a": 1}, []),
        ([" a ", ""], ["a"]),
    ],
)
def test_groups_come_from_a_list_or_a_comma_separated_string(value, groups):
    assert groups_from(value) == groups
