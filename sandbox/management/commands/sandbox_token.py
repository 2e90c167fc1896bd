"""``manage.py sandbox_token``: sandbox tokens, organizations and apps, for an operator.

sandbox_token mint --org "Acme" [--label "ci"]   # prints the new token once
sandbox_token mint --org "Acme" --kind metrics-api  # a Metrics API token instead
sandbox_token list [--org "Acme"]                # id, organization, label, prefix…last4, state
sandbox_token revoke <id>                        # or: revoke --token <token>
sandbox_token add-org "Acme"
sandbox_token add-app acmeApp1 --org "Acme"      # --org is created if missing
sandbox_token apps [--org "Acme"]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.models import APP_ID_RE, App, Organization, Token, TokenKind, token_digest

# --kind's spelling of each kind of token.
KINDS = {"custom-metrics": TokenKind.CUSTOM_METRICS, "metrics-api": TokenKind.METRICS_API}


class Command(BaseCommand):
    help = "Mint, list and revoke sandbox tokens; add organizations and apps."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        mint = sub.add_parser("mint", help="Mint a token for an organization and print it once.")
        mint.add_argument("--org", required=True, help="Organization name (created if missing).")
        mint.add_argument("--label", default="", help="A note saying who or what uses the token.")
        mint.add_argument(
            "--kind",
            choices=sorted(KINDS),
            default="custom-metrics",
            help="custom-metrics (the default) opens the Custom Metrics API; metrics-api the Metrics API.",
        )
        listing = sub.add_parser("list", help="List tokens (never their values).")
        listing.add_argument("--org", help="Only this organization's tokens.")
        revoke = sub.add_parser("revoke", help="Revoke a token by id (from list) or by value.")
        revoke.add_argument("id", nargs="?", type=int, help="The token's id, as shown by list.")
        revoke.add_argument("--token", help="The token itself.")
        add_org = sub.add_parser("add-org", help="Add an organization.")
        add_org.add_argument("name")
        add_app = sub.add_parser("add-app", help="Add an app to an organization (created if missing).")
        add_app.add_argument("app_id", help="Letters, digits, _ and -, at most 64 characters.")
        add_app.add_argument("--org", required=True)
        apps = sub.add_parser("apps", help="List apps and their organizations.")
        apps.add_argument("--org", help="Only this organization's apps.")

    def handle(self, *args, **options) -> None:
        action = options["action"].replace("-", "_")
        getattr(self, f"_{action}")(options)

    def _organization(self, name: str) -> Organization:
        name = name.strip()
        if not name:
            raise CommandError("The organization name can't be empty.")
        organization, created = Organization.objects.get_or_create(name=name)
        if created:
            self.stdout.write(f"Created organization {name!r}.")
        return organization

    def _mint(self, options: dict) -> None:
        organization = self._organization(options["org"])
        token, raw = Token.mint(organization, label=options["label"], kind=KINDS[options["kind"]])
        self.stdout.write(
            f"{token.get_kind_display()} token {token.pk} for {organization.name!r}. "
            f"Copy it now; it is not shown again:\n{raw}"
        )

    def _list(self, options: dict) -> None:
        tokens = Token.objects.select_related("organization").order_by("organization__name", "id")
        if options.get("org"):
            tokens = tokens.filter(organization__name=options["org"])
        if not tokens:
            self.stdout.write("No tokens.")
        for token in tokens:
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            self.stdout.write(
                f"{token.pk:>4}  {token.organization.name:<24}  {token.prefix}…{token.last4}  "
                f"{token.get_kind_display():<18}  {state:<24}  {token.label}"
            )

    def _revoke(self, options: dict) -> None:
        if options.get("token"):
            token = Token.objects.filter(digest=token_digest(options["token"].strip())).first()
        elif options.get("id") is not None:
            token = Token.objects.filter(pk=options["id"]).first()
        else:
            raise CommandError("Say which token: sandbox_token revoke <id> or --token <token>.")
        if token is None:
            raise CommandError("No such token. sandbox_token list shows the ids.")
        if token.revoked_at:
            self.stdout.write(f"Token {token.pk} ({token}) was already revoked.")
            return
        token.revoke()
        self.stdout.write(f"Revoked token {token.pk} ({token}) of {token.organization.name!r}.")

    def _add_org(self, options: dict) -> None:
        self._organization(options["name"])

    def _add_app(self, options: dict) -> None:
        app_id = options["app_id"]
        if not APP_ID_RE.fullmatch(app_id):
            raise CommandError("An app id has 1 to 64 letters, digits, _ or -.")
        organization = self._organization(options["org"])
        app = App.objects.filter(app_id=app_id).select_related("organization").first()
        if app and app.organization_id != organization.pk:
            raise CommandError(f"App {app_id} already belongs to {app.organization.name!r}.")
        if app:
            self.stdout.write(f"App {app_id} already belongs to {organization.name!r}.")
            return
        App.objects.create(app_id=app_id, organization=organization)
        self.stdout.write(f"Added app {app_id} to {organization.name!r}.")

    def _apps(self, options: dict) -> None:
        apps = App.objects.select_related("organization").order_by("organization__name", "app_id")
        if options.get("org"):
            apps = apps.filter(organization__name=options["org"])
        for app in apps:
            self.stdout.write(f"{app.app_id:<24}  {app.organization.name}")
