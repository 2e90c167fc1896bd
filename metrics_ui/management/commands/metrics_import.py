"""``manage.py metrics_import --app APP --user NAME --file FILE [--apply] [--on-conflict skip|replace]
[--delete-missing]``: print the import plan; with --apply, make it so.

For CI: exits 2 when the plan has conflicts and --on-conflict wasn't given, 3 when the file has
rejected entries, 1 when a write failed; nothing is sent in the first two cases.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.http import HttpRequest

from metrics_ui import upstream
from metrics_ui.metrics import budget, exchange, importing, plan
from metrics_ui.metrics.parameters import base_metrics
from metrics_ui.tokens import access


class Command(BaseCommand):
    help = "Plan (and with --apply, make) the import of a metrics file into an app."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app", required=True)
        parser.add_argument("--user", required=True, help="The console user whose stored token is used.")
        parser.add_argument("--token-label", default="")
        parser.add_argument("--file", required=True, help="The export file ('-' for standard input).")
        parser.add_argument(
            "--apply", action="store_true", help="Make the changes (default: only print the plan)."
        )
        parser.add_argument("--on-conflict", choices=[plan.SKIP, plan.REPLACE], default="")
        parser.add_argument(
            "--delete-missing", action="store_true", help="Delete metrics the file doesn't have."
        )

    def handle(self, *args, **options) -> None:
        app_id = options["app"]
        user, client = access.command_client(options["user"], app_id, options["token_label"])
        text = sys.stdin.read() if options["file"] == "-" else _read(options["file"])
        try:
            existing = client.list_metrics(app_id)
        except upstream.UpstreamError as error:
            raise CommandError(error.message) from None
        document = exchange.read(text, base_metrics(client, app_id)[0], existing)
        the_plan = plan.build(app_id, document, existing, delete_missing=options["delete_missing"],
                              on_conflict=options["on_conflict"])  # fmt: skip
        self._print(the_plan)
        if the_plan.problems:
            sys.exit(3)
        if the_plan.unresolved:
            self.stdout.write(
                "Conflicts: choose --on-conflict skip or --on-conflict replace. Nothing was sent."
            )
            sys.exit(2)
        if options["apply"]:
            self._apply(user, client, the_plan)

    def _apply(self, user, client: upstream.Client, the_plan: plan.Plan) -> None:
        request = HttpRequest()  # the write budget counts per user, as for the pages
        request.user = user
        reservation = budget.reserve(request, the_plan.writes)
        if not reservation.granted:
            raise CommandError(importing.refused_words(the_plan.writes, reservation.left))
        importing.run(None, user, reservation, client, the_plan)
        for row in the_plan.rows:
            self.stdout.write(f"{row.name}: {row.result}")
        if any(r.result.startswith("Failed") for r in the_plan.rows):
            sys.exit(1)

    def _print(self, the_plan: plan.Plan) -> None:
        for problem in the_plan.problems:
            self.stdout.write(f"rejected  {problem.where}: {problem.reason}")
        for row in the_plan.rows:
            extra = f" -> {row.new_name} ({row.choice or 'unresolved'})" if row.kind == plan.CONFLICT else ""
            self.stdout.write(f"{row.kind:<9} {row.name}{extra}: {row.sentence}")
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in the_plan.counts().items()))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as source:
            return source.read(exchange.MAX_FILE_CHARS + 1)
    except OSError as error:
        raise CommandError(f"Can't read {path}: {error.strerror}.") from None
