"""Clear an account's single sign-on binding, so its next verified sign-in links it again."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from metrics_ui.audit import trail as audit


class Command(BaseCommand):
    help = (
        "Remove the link between a console account and its identity-provider account. The next "
        "sign-in with a verified e-mail address equal to the account's links it again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The console account's username.")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no console account with the username {username!r}.")
        if not user.oidc_subject:
            self.stdout.write(f"{username} is not linked to an identity-provider account; nothing to do.")
            return
        User.objects.filter(pk=user.pk).update(oidc_issuer="", oidc_subject="")
        audit.record(
            None,
            "auth.unlinked",
            outcome="unlinked",
            detail=f"single sign-on link removed from the command line by OS user {audit.os_user()!r}",
            actor=user,
        )
        self.stdout.write(
            f"{username} is no longer linked. The next sign-in whose verified e-mail address is "
            f"{user.email or '(none)'} links it again."
        )
