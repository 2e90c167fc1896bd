"""Bind a console account to a given identity-provider subject (when e-mail linking is off)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from metrics_ui.accounts import oidc as sso
from metrics_ui.audit import trail as audit


class Command(BaseCommand):
    help = (
        "Link a console account to an identity-provider account by its subject (the ID token's "
        "`sub`), so that account signs in as this one. For OIDC_EMAIL_LINKING=never."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The console account's username.")
        parser.add_argument("subject", help="The identity provider's subject (`sub`) for the person.")
        parser.add_argument(
            "--issuer", default="", help="The provider's issuer; by default the configured one."
        )

    def handle(self, *args, username: str, subject: str, issuer: str, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no console account with the username {username!r}.")
        try:
            issuer = (issuer or sso.expected_issuer()).rstrip("/")
        except sso.SSOUnavailable as exc:
            raise CommandError(f"Could not read the provider's issuer ({exc}); pass --issuer.") from exc
        if not issuer or not subject.strip():
            raise CommandError(
                "Both the issuer and the subject are needed (set OIDC_ISSUER, or pass --issuer)."
            )
        holder = User.objects.filter(oidc_issuer=issuer, oidc_subject=subject).exclude(pk=user.pk).first()
        if holder is not None:
            raise CommandError(f"That subject is linked to {holder.get_username()!r}; unlink it first.")
        User.objects.filter(pk=user.pk).update(oidc_issuer=issuer, oidc_subject=subject)
        audit.record(
            None,
            "auth.linked",
            outcome="linked",
            detail=f"linked to a given subject from the command line by OS user {audit.os_user()!r}",
            actor=user,
        )
        self.stdout.write(f"{username} is now linked to subject {subject!r} at {issuer}.")
