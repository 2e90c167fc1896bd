"""Wire up the demo: seed the sandbox, create the demo user and give it the sandbox's token.

Called by ``bin/run`` on every start, so it is idempotent: a second run changes nothing (the token is
only rewritten when it no longer holds the seed token, e.g. after the development key changed).
"""

import json
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from metrics_ui.models import ApiToken, ManagedApp, User
from metrics_ui.tokens import access

TOKEN_LABEL = "Sandbox (demo)"
METRICS_API_LABEL = "Sandbox Metrics API (demo)"
DEMO_APPS = ["appID1", "appID2"]


class Command(BaseCommand):
    help = "Development only: seed the sandbox and set up the demo user with the sandbox's token."

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_LOGIN_ENABLED:
            raise CommandError(
                "demo_setup is for development mode only (DEMO_LOGIN_ENABLED is off), so it did nothing."
            )
        out = StringIO()
        call_command("sandbox_seed", "--json", stdout=out)
        seed = json.loads(out.getvalue().strip().splitlines()[-1])
        with transaction.atomic():
            user, user_created = self._user()
            token, token_state = self._token(user, seed["token"])
            metrics_state = self._metrics_api_token(user, seed["metrics_api_token"])
        self._report(user, user_created, token, token_state)
        self.stdout.write(f"Token {METRICS_API_LABEL!r} (region sandbox, for the charts) {metrics_state}.")

    def _user(self) -> tuple[User, bool]:
        user, created = User.objects.get_or_create(username=settings.DEMO_USERNAME)
        # Admin, so a newcomer can see every page of the console (audit trail, users) in development.
        user.role = User.Role.ADMIN
        user.is_active = True
        if not user.check_password(settings.DEMO_PASSWORD):
            user.set_password(settings.DEMO_PASSWORD)
        user.save()
        return user, created

    def _token(self, user: User, plaintext: str) -> tuple[ApiToken, str]:
        token = ApiToken.objects.filter(user=user, label=TOKEN_LABEL).first()
        if token is None:
            token, state = ApiToken(user=user, label=TOKEN_LABEL), "created"
        elif token.region != "sandbox" or not access.token_matches(token, plaintext):
            state = "refreshed"
        else:
            state = "unchanged"
        if state != "unchanged":
            token.region = "sandbox"
            token.set_token(plaintext)
            token.save()
        # An app belongs to one token per user: take the demo apps back from any other demo token.
        ManagedApp.objects.filter(user=user, app_id__in=DEMO_APPS).exclude(token=token).delete()
        token.set_apps(DEMO_APPS)
        return token, state

    def _metrics_api_token(self, user: User, plaintext: str) -> str:
        """The sandbox's Metrics API token, so the metric pages show charts with no configuration."""
        kind = ApiToken.Kind.METRICS_API
        token = ApiToken.objects.filter(user=user, kind=kind, region="sandbox").first()
        if token is None:
            ApiToken.objects.filter(user=user, label=METRICS_API_LABEL).delete()  # the name must be free
            token, state = (
                ApiToken(user=user, label=METRICS_API_LABEL, kind=kind, region="sandbox"),
                "created",
            )
        elif not access.token_matches(token, plaintext):
            state = "refreshed"
        else:
            return "unchanged"
        token.set_token(plaintext)
        token.save()
        return state

    def _report(self, user: User, user_created: bool, token: ApiToken, token_state: str) -> None:
        console_url = settings.SANDBOX_BASE_URL.removesuffix("/").removesuffix("/custom-metrics") + "/"
        self.stdout.write(
            f"Demo user {user.username!r} {'created' if user_created else 'already existed'} "
            f"(role: {user.get_role_display()})."
        )
        self.stdout.write(
            f"Token {TOKEN_LABEL!r} ({token.masked}, region sandbox) "
            f"{token_state}; it manages {', '.join(DEMO_APPS)}."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Sign in at {console_url} as {settings.DEMO_USERNAME} / {settings.DEMO_PASSWORD}"
            )
        )
