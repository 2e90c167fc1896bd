"""Drift between an app's list upstream and the console's records, from the list a page already has.

"Created outside the console": listed upstream, but the console never created nor adopted it.
"Deleted outside the console": the console created (or adopted) it, never deleted it, and it is no
longer listed. Looking costs no upstream call and two queries: the app's notes, and one bulk update
of "last seen" for the names listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from metrics_ui.metrics import notes as metric_notes
from metrics_ui.models import MetricNote


@dataclass(frozen=True)
class Drift:
    notes: dict[str, MetricNote] = field(default_factory=dict)
    outside: frozenset[str] = frozenset()  # listed, never created or adopted here
    gone: tuple[MetricNote, ...] = ()  # created here, deleted elsewhere; ``last_seen_at`` says when seen

    def note(self, name: str) -> MetricNote | None:
        return self.notes.get(name)


def observe(app_id: str, names: Iterable[str]) -> Drift:
    """Compare the names just listed with the console's notes, and record that they were seen."""
    listed = set(names)
    notes = metric_notes.for_app(app_id)
    seen = [name for name in listed if name in notes]
    if seen:
        MetricNote.objects.filter(app_id=app_id, name__in=seen).update(last_seen_at=timezone.now())
    managed = {name for name, note in notes.items() if note.managed}
    gone = tuple(
        note
        for name, note in sorted(notes.items())
        if note.managed and note.deleted_at is None and name not in listed
    )
    return Drift(notes=notes, outside=frozenset(listed - managed), gone=gone)
