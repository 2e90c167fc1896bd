"""Break-glass: sign in a local admin when single sign-on is broken. Off unless BREAKGLASS_ENABLED=true."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from metrics_ui.accounts import breakglass
from metrics_ui.audit import trail as audit

WARNING = (
    "WARNING: break-glass sign-in bypasses single sign-on. Use it only while SSO is broken, "
    "then set BREAKGLASS_ENABLED=false again. This is recorded in the audit trail."
)


class Command(BaseCommand):
    help = (
        "Create or update a local admin and print a one-time sign-in link "
        "(only when BREAKGLASS_ENABLED=true)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="breakglass-admin", help="The local admin's username.")
        parser.add_argument("--email", default="", help="An e-mail address to record on the account.")
        parser.add_argument(
            "--base-url", default="", help="The console's address, e.g. https://metrics.example.com."
        )

    def handle(self, *args, username: str, email: str, base_url: str, **options):
        if not settings.BREAKGLASS_ENABLED:
            raise CommandError("Break-glass sign-in is off. Set BREAKGLASS_ENABLED=true to use it.")
        self.stderr.write(self.style.WARNING(WARNING))
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if email:
            user.email = email
        user.role = User.Role.ADMIN
        user.is_active = True
        # A new unusable password each run: earlier links stop working, and no password can be typed.
        user.set_unusable_password()
        user.save()
        path = breakglass.issue_link(user)
        audit.record(
            None,
            "auth.breakglass_issued",
            outcome="created" if created else "updated",
            detail=f"one-time link issued from the command line by OS user {audit.os_user()!r}",
            actor=user,
        )
        minutes = settings.BREAKGLASS_LINK_SECONDS // 60
        self.stdout.write(f"One-time sign-in link for {username} (valid {minutes} minutes, works once):")
        self.stdout.write(f"{base_url.rstrip('/')}{path}" if base_url else path)
