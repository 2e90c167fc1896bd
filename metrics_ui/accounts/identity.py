"""Gatekeeping, shared by single sign-on and the trusted-proxy mode: who may use the console, and as
which user. Single sign-on binds an account to the identity provider's (issuer, subject) pair; an
existing account is linked by a verified e-mail address at most once. The trusted-proxy mode keeps
the proxy's e-mail header as the identity. Allowed domains and/or required groups decide; the role
(viewer/editor/admin) comes from groups at every sign-in, and a person with no role group is
refused, never given a default role. A refusal is a page, an audit record and no session.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics_ui.audit import trail as audit


class Refused(Exception):
    """Someone the identity provider vouched for may not use the console."""

    def __init__(self, message: str, detail: str, identity: str = ""):
        super().__init__(detail)
        self.message = message  # for the person, in plain words; reveals no configuration
        self.detail = detail  # for the audit trail and the operator
        self.identity = identity


def role_for(groups: Iterable[str]) -> str | None:
    """The highest role any of ``groups`` grants, or ``None``."""
    held = set(groups)
    for role, setting in (
        ("admin", "ROLE_GROUPS_ADMIN"),
        ("editor", "ROLE_GROUPS_EDITOR"),
        ("viewer", "ROLE_GROUPS_VIEWER"),
    ):
        if held & set(getattr(settings, setting, [])):
            return role
    return None


def gatekeep(email: str, groups: Iterable[str], *, email_verified: object = True) -> str:
    """The role for this identity, or ``Refused`` with the reason.

    Checks, in order: a usable e-mail; the domain against ``ALLOWED_EMAIL_DOMAINS`` (when set);
    membership of one of ``REQUIRED_GROUPS`` (when set); a role group.
    """
    email = (email or "").strip()
    groups = [g for g in groups if g]
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        raise Refused(
            "Your sign-in did not include an e-mail address, which this console needs to know who you are.",
            "no e-mail address in the sign-in",
            email,
        )
    if email_verified is False or str(email_verified).lower() == "false":
        raise Refused(
            "Your identity provider says your e-mail address is not verified.",
            "e-mail address not verified by the identity provider",
            email,
        )
    allowed_domains = {d.lower().lstrip("@") for d in settings.ALLOWED_EMAIL_DOMAINS}
    if allowed_domains and domain.lower() not in allowed_domains:
        raise Refused(
            "Your e-mail address is not from an organisation that may use this console.",
            f"e-mail domain {domain.lower()!r} is not in ALLOWED_EMAIL_DOMAINS",
            email,
        )
    required = set(settings.REQUIRED_GROUPS)
    if required and not required & set(groups):
        raise Refused(
            "Your account is not in a group that may use this console.",
            f"not in any of REQUIRED_GROUPS (the sign-in carried {len(groups)} group(s))",
            email,
        )
    role = role_for(groups)
    if role is None:
        configured = any(
            getattr(settings, name, [])
            for name in ("ROLE_GROUPS_VIEWER", "ROLE_GROUPS_EDITOR", "ROLE_GROUPS_ADMIN")
        )
        raise Refused(
            "Your account is not in any of the console's viewer, editor or admin groups.",
            "no role group matched"
            if configured
            else "no role groups are configured (ROLE_GROUPS_VIEWER/_EDITOR/_ADMIN), so nobody can sign in",
            email,
        )
    return role


def deactivated(email: str) -> Refused:
    return Refused(
        "Your account has been deactivated by an administrator of this console.",
        "the user is deactivated in the console",
        email,
    )


def groups_from(value: object) -> list[str]:
    """Groups from a claim or header: a JSON list, or a comma-separated string."""
    if isinstance(value, list | tuple | set):
        return [str(item).strip() for item in value if str(item).strip()]
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


def sync_user(email: str, role: str, *, first_name: str = "", last_name: str = ""):
    """The console user for ``email`` (the identity), created or updated with ``role``.

    Raises ``Refused`` when the user exists but was deactivated by an admin.
    """
    User = get_user_model()
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise Refused(
            "There is a problem with your account in this console.",
            "two console users share this e-mail address",
            email,
        )
    if not matches:
        username = email.lower()[:150]
        if User.objects.filter(username=username).exists():
            raise Refused(
                "There is a problem with your account in this console.",
                "another console account already uses this e-mail address as its username",
                email,
            )
        user = User(username=username, email=email, role=role)
        user.first_name, user.last_name = first_name[:150], last_name[:150]
        user.set_unusable_password()
        user.save()
        return user
    user = matches[0]
    if not user.is_active:
        raise deactivated(email)
    changed = _apply(user, role=role, first_name=first_name[:150], last_name=last_name[:150])
    if changed:
        user.save(update_fields=changed)
    return user


def _apply(user, **values: str) -> list[str]:
    """Set each non-empty value that differs on ``user``; the names of the fields changed."""
    changed = [field for field, value in values.items() if value and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, values[field])
    return changed


def is_verified(value: object) -> bool:
    """Whether an ``email_verified`` claim says yes. Missing, or anything but true, is no."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _problem(detail: str, email: str) -> Refused:
    return Refused("There is a problem with your account in this console.", detail, email)


def sync_oidc_user(
    issuer: str,
    subject: str,
    email: str,
    role: str,
    *,
    email_verified: object = None,
    first_name: str = "",
    last_name: str = "",
    request: HttpRequest | None = None,
):
    """The console user bound to the provider's (``issuer``, ``subject``), synced with ``role``.

    The first sign-in of a subject binds it: to a new account, or to an existing account with
    that e-mail address and no binding yet (only when ``email_verified`` is true and
    ``OIDC_EMAIL_LINKING`` is "verified"). An e-mail address bound to another subject is refused
    and that account is left exactly as it was. Raises ``Refused``.
    """
    if not issuer or not subject:
        raise _problem("the ID token carried no issuer or subject", email)
    User = get_user_model()
    user = User.objects.filter(oidc_issuer=issuer[:255], oidc_subject=subject[:255]).first()
    if user is None:
        user = _bind(User, issuer[:255], subject[:255], email, role, is_verified(email_verified), request)
    if not user.is_active:
        raise deactivated(email)
    changed = _apply(user, role=role, first_name=first_name[:150], last_name=last_name[:150])
    if user.email.lower() != email.lower() and not User.objects.filter(email__iexact=email).exists():
        # The provider changed the person's address; the binding, not the address, is who they are.
        user.email = email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    return user


def _bind(User, issuer: str, subject: str, email: str, role: str, verified: bool, request):
    """A first sign-in of this subject: the account it takes over by e-mail, or a new one."""
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise _problem("two console users share this e-mail address", email)
    if matches:
        user = matches[0]
        if user.oidc_subject:
            raise _problem(
                "this e-mail address is bound to another identity-provider account "
                "(an admin can re-link it with `manage.py oidc_unlink`)",
                email,
            )
        if not user.is_active:
            raise deactivated(email)
        if settings.OIDC_EMAIL_LINKING == "never":
            raise _problem(
                "an account with this e-mail address exists and OIDC_EMAIL_LINKING is never", email
            )
        if not verified:
            raise _problem(
                "an account with this e-mail address exists, and the identity provider did not say "
                "the address is verified, so it was not linked",
                email,
            )
        # Only an unbound row is updated: two simultaneous first sign-ins can't both take it.
        claimed = User.objects.filter(pk=user.pk, oidc_subject="").update(
            oidc_issuer=issuer, oidc_subject=subject
        )
        if not claimed:
            raise _problem("this e-mail address was just bound to another identity-provider account", email)
        user.oidc_issuer, user.oidc_subject = issuer, subject
        audit.record(request, "auth.linked", outcome="linked", detail="bound by verified e-mail", actor=user)
        return user
    username = email.lower()[:150]
    if User.objects.filter(username=username).exists():
        raise _problem("another console account already uses this e-mail address as its username", email)
    user = User(username=username, email=email, role=role, oidc_issuer=issuer, oidc_subject=subject)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise _problem(
            "this identity-provider account was just bound to another console account", email
        ) from exc
    return user


def refused_response(request: HttpRequest, refusal: Refused | None = None, status: int = 403) -> HttpResponse:
    """The "no access" page. Whoever gets it has no session afterwards."""
    if hasattr(request, "session"):
        request.session.flush()
    return render(request, "accounts/no_access.html", {"refusal": refusal}, status=status)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/sso_unavailable.html", status=503)
