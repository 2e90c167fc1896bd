"""``manage.py metrics_export --app APP --user NAME [--token-label LABEL] [--output FILE]``: an app's
metrics as the console's export file, read with a console user's stored token."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from metrics_ui import upstream
from metrics_ui.audit import trail as audit
from metrics_ui.metrics import exchange, notes
from metrics_ui.tokens import access
from metrics_ui.tokens.access import TokenUnreadable


class Command(BaseCommand):
    help = "Export an app's custom metrics (and the console's notes) as a JSON file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app", required=True, help="The app ID to export.")
        parser.add_argument("--user", required=True, help="The console user whose stored token is used.")
        parser.add_argument(
            "--token-label", default="", help="Which of their tokens (default: the one managing --app)."
        )
        parser.add_argument("--output", default="", help="Write to this file instead of standard output.")

    def handle(self, *args, **options) -> None:
        user, client = access.command_client(options["user"], options["app"], options["token_label"])
        app_id = options["app"]
        try:
            metrics = client.list_metrics(app_id)
        except (upstream.UpstreamError, TokenUnreadable) as error:
            raise CommandError(error.message) from None
        text = exchange.dump(
            app_id, metrics, notes.exported(notes.for_app(app_id), (m.name for m in metrics))
        )
        audit.record(None, "metric.export", app_id=app_id, actor=user, outcome="exported",
                     detail=f"{len(metrics)} metrics, by command (OS user {audit.os_user()})")  # fmt: skip
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text)
            self.stderr.write(f"Exported {len(metrics)} metrics of {app_id} to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
