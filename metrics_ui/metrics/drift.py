"""Drift between an app's list upstream and the console's records, from the list a page already has.

"Created outside the console": listed upstream, but the console never created nor adopted it.
"Deleted outside the console": the console created (or adopted) it, never deleted it, and it is no
longer listed. Looking costs no upstream call and no query of its own (the list page reads the app's
notes while Embrace answers); "last seen" is written in one bulk update, at most once a minute per
note, so most list views write nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.utils import timezone

from metrics_ui.models import MetricNote

# "Last seen" is shown to the minute; refreshing it more often would write on every list view.
SEEN_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Drift:
    notes: dict[str, MetricNote] = field(default_factory=dict)
    outside: frozenset[str] = frozenset()  # listed, never created or adopted here
    gone: tuple[MetricNote, ...] = ()  # created here, deleted elsewhere; ``last_seen_at`` says when seen

    def note(self, name: str) -> MetricNote | None:
        return self.notes.get(name)

    @cached_property
    def fingerprint(self) -> str:
        """Everything of the notes that the list's table shows (owners, who manages what, what is gone and
        when it was last seen), as one string: equal fingerprints, equal tables."""
        shown = (
            sorted((name, note.owner_label, note.managed) for name, note in self.notes.items()),
            [(note.name, note.owner_label, note.last_seen_at) for note in self.gone],
        )
        return hashlib.sha256(repr(shown).encode()).hexdigest()


def observe(app_id: str, names: Iterable[str], notes: dict[str, MetricNote]) -> Drift:
    """Compare the names just listed with the app's notes (``notes.for_app``); record that they were seen."""
    listed = set(names)
    now = timezone.now()
    stale = [
        name
        for name in listed
        if name in notes
        and (notes[name].last_seen_at is None or now - notes[name].last_seen_at >= SEEN_PRECISION)
    ]
    if stale:
        MetricNote.objects.filter(app_id=app_id, name__in=stale).update(last_seen_at=now)
    managed = {name for name, note in notes.items() if note.managed}
    gone = tuple(
        note
        for name, note in sorted(notes.items())
        if note.managed and note.deleted_at is None and name not in listed
    )
    return Drift(notes=notes, outside=frozenset(listed - managed), gone=gone)
