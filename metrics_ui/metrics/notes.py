"""The console's notes on a metric (description, owner, who created it here and when): reading,
editing, and carrying them along when a metric is copied, replaced, exported or imported."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django import forms
from django.utils import timezone

from metrics_ui.models import MetricNote, User

DESCRIPTION_MAX = 2000
OWNER_MAX = 200


def for_app(app_id: str) -> dict[str, MetricNote]:
    """Every note of ``app_id`` by metric name, in one query."""
    return {n.name: n for n in MetricNote.objects.filter(app_id=app_id).select_related("owner_user")}


def get(app_id: str, name: str) -> MetricNote | None:
    return MetricNote.objects.filter(app_id=app_id, name=name).select_related("owner_user").first()


def _row(app_id: str, name: str) -> MetricNote:
    note, _ = MetricNote.objects.get_or_create(app_id=app_id, name=name)
    return note


def record_created(user, app_id: str, name: str, source: tuple[str, str] | None = None) -> MetricNote:
    """The console created ``name`` in ``app_id``: note who and when; copy the source's notes, if any."""
    note = _row(app_id, name)
    note.managed, note.deleted_at = True, None
    if note.created_at is None:
        note.created_at = timezone.now()
        note.created_by = user if getattr(user, "pk", None) else None
        note.created_by_name = user.get_username() if note.created_by else ""
    note.last_seen_at = timezone.now()
    original = get(*source) if source and source[1] else None
    if original is not None and not (note.description or note.owner or note.owner_user_id):
        note.description, note.owner, note.owner_user_id = (
            original.description, original.owner, original.owner_user_id,
        )  # fmt: skip
    note.save()
    return note


def record_deleted(app_id: str, name: str) -> None:
    """The console deleted it: the note stays, marked, and its absence upstream is not drift."""
    MetricNote.objects.filter(app_id=app_id, name=name, deleted_at=None).update(deleted_at=timezone.now())


def adopt(user, app_id: str, name: str) -> MetricNote:
    """Take a metric created outside the console under the console's notes and drift watch."""
    note = _row(app_id, name)
    note.managed, note.adopted, note.deleted_at = True, True, None
    note.last_seen_at = timezone.now()
    if not note.created_by_name:
        note.created_by_name = f"adopted by {user.get_username()}"
    note.save()
    return note


def exported(notes: Mapping[str, MetricNote], names: Iterable[str]) -> dict[str, dict]:
    """The notes that travel in an export file: description and owner, for the exported names."""
    result = {}
    for name in names:
        note = notes.get(name)
        if note is not None and (note.description or note.owner_label):
            result[name] = {"description": note.description, "owner": note.owner_label}
    return result


def imported(app_id: str, name: str, values: Mapping[str, str]) -> None:
    """Notes from an import file, written onto the note of ``name`` (the file wins where it says)."""
    if not values:
        return
    note = _row(app_id, name)
    if "description" in values:
        note.description = str(values["description"])[:DESCRIPTION_MAX]
    if "owner" in values:
        note.owner, note.owner_user = str(values["owner"])[:OWNER_MAX], None
    note.save()


def owners(notes: Mapping[str, MetricNote]) -> list[str]:
    """The distinct owners named in an app's notes, for the list's "owned by" filter."""
    return sorted({n.owner_label for n in notes.values() if n.owner_label}, key=str.lower)


def owned_by(metrics: Sequence, notes: Mapping[str, MetricNote], owner: str) -> list:
    """The metrics whose note names ``owner``; "-" asks for those with no owner."""
    if owner == "-":
        return [m for m in metrics if not (notes.get(m.name) and notes[m.name].owner_label)]
    return [m for m in metrics if notes.get(m.name) and notes[m.name].owner_label == owner]


class NoteForm(forms.Form):
    """A metric's description and owner: free text, or one of the console's users."""

    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What it is for and who reads it.",
    )  # fmt: skip
    owner = forms.CharField(
        required=False, max_length=OWNER_MAX, label="Owner (a person or a team)",
        help_text="Free text, e.g. Payments team. Leave empty to pick a console user below.",
    )  # fmt: skip
    owner_user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="…or a console user", empty_label="Nobody"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_user"].queryset = User.objects.filter(is_active=True).order_by("username")

    @classmethod
    def for_note(cls, note: MetricNote | None, data=None) -> NoteForm:
        initial = {}
        if note is not None:
            initial = {"description": note.description, "owner": note.owner, "owner_user": note.owner_user_id}
        return cls(data, initial=initial)

    def save(self, app_id: str, name: str) -> MetricNote:
        note = _row(app_id, name)
        data = self.cleaned_data
        note.description = data["description"].strip()
        note.owner_user = data["owner_user"]
        note.owner = "" if note.owner_user else data["owner"].strip()
        note.save()
        return note
