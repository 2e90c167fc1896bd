"""Running an import plan for a person (a page) or an operator (a command): the form that takes the
file, the write budget reserved for the whole apply up front, and every write audited and noted."""

from __future__ import annotations

from django import forms
from django.core import signing
from django.http import HttpRequest

from metrics_ui import upstream
from metrics_ui.audit import trail as audit
from metrics_ui.metrics import budget, exchange, notes, plan

SALT = "metrics_ui.metrics.importing"
# A plan page left open longer than this asks for the file again.
SEALED_MAX_AGE = 24 * 3600
STALE = "This plan is too old, or the page was changed. Choose the file again to see a fresh plan."


def seal(text: str) -> str:
    """The file, compressed and signed, for the plan page to post back: a tenth of its size, so
    applying doesn't upload (and decode) the whole file again, and nobody can swap it unseen."""
    return signing.dumps(text, salt=SALT, compress=True)


class ImportForm(forms.Form):
    """The file, uploaded or pasted, and whether metrics missing from it should be deleted."""

    upload = forms.FileField(required=False, label="Export file")
    text = forms.CharField(
        required=False, label="…or paste its contents", max_length=exchange.MAX_FILE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
    )  # fmt: skip
    sealed = forms.CharField(required=False, widget=forms.HiddenInput)
    delete_missing = forms.BooleanField(
        required=False, label="Also delete what the file doesn't have",
        help_text="Metrics in this app that the file doesn't list are shown as deletions in the plan.",
    )  # fmt: skip

    def clean(self) -> dict:
        data = super().clean()
        if data.get("sealed"):
            try:
                data["text"] = signing.loads(data["sealed"], salt=SALT, max_age=SEALED_MAX_AGE)
            except signing.BadSignature:
                raise forms.ValidationError(STALE) from None
            return data
        upload = data.get("upload")
        if upload:
            if upload.size > exchange.MAX_FILE_CHARS:
                raise forms.ValidationError("That file is too large for a metrics export (over 2 MB).")
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                message = "That file isn't text: choose the .json file an export gave you."
                raise forms.ValidationError(message) from None
        if not (data.get("text") or "").strip():
            raise forms.ValidationError("Choose an export file, or paste its contents.")
        return data


def refused_words(needed: int, left: int) -> str:
    return (
        f"This import needs {needed} change{'s' if needed != 1 else ''} and you can make {left} right now, "
        "so nothing was sent. Wait a minute and apply again, or untick some rows."
    )


def run(
    request: HttpRequest | None,
    actor,
    reservation: budget.Reservation,
    client: upstream.Client,
    the_plan: plan.Plan,
) -> None:
    """Apply ``the_plan`` within ``reservation`` (which covers all its writes), auditing each write."""
    app_id = the_plan.app_id
    document = the_plan.document

    def create(body: dict):
        outcome = reservation.create(client, app_id, body)
        audit.record(
            request, "metric.create", app_id=app_id, metric=body["name"], body=body, actor=actor,
            upstream_status=outcome.upstream_status, outcome=f"{outcome.kind} (import)",
        )  # fmt: skip
        return outcome

    def delete(name: str):
        deletion = reservation.delete(client, app_id, name)
        audit.record(
            request, "metric.delete", app_id=app_id, metric=name, actor=actor,
            upstream_status=deletion.upstream_status, outcome=f"{deletion.kind} (import)",
        )  # fmt: skip
        if deletion.gone:
            notes.record_deleted(app_id, name)
        return deletion

    def noted(row: plan.Row, name: str) -> None:
        if row.kind != plan.UNCHANGED:
            notes.record_created(actor, app_id, name)
        elif not getattr(notes.get(app_id, name), "managed", False):
            notes.adopt(actor, app_id, name)  # already there: the import takes it under the console's notes
        notes.imported(app_id, name, document.notes.get(row.name, {}))

    plan.apply(the_plan, plan.Writer(create, delete, noted))
    counts = {kind: sum(1 for r in the_plan.rows if r.kind == kind and r.done) for kind in plan.KIND_WORDS}
    failed = sum(1 for r in the_plan.rows if r.result.startswith("Failed"))
    audit.record(
        request, "metric.import", app_id=app_id, actor=actor, outcome="failed" if failed else "applied",
        detail=", ".join(f"{k}: {v}" for k, v in counts.items()) + f", failed: {failed}",
    )  # fmt: skip
