"""Importing a metrics file into an app: the plan (what would happen, one row per metric, from ONE list
call), then applying it through the write budget and the reconciling creates and deletes.

Row kinds: ``create`` (new), ``unchanged`` (an identical definition exists, under its name or as an
earlier replacement ``<name>_vN``), ``conflict`` (same name, other definition: the person chooses to
skip it or to replace it through a new ``<name>_vN``), ``remove`` (in the app, not in the file; only
when asked). Applying twice does nothing the second time: what the first apply made is "unchanged".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from metrics_ui import catalog, upstream
from metrics_ui.metrics import describe, exchange
from metrics_ui.metrics import writes as create_guard
from metrics_ui.metrics.form import next_free_name

CREATE, UNCHANGED, CONFLICT, REMOVE = "create", "unchanged", "conflict", "remove"
SKIP, REPLACE = "skip", "replace"
KIND_WORDS = {
    CREATE: "Will be created",
    UNCHANGED: "Already there with exactly these settings: nothing to do",
    CONFLICT: "A metric with this name exists with other settings",
    REMOVE: "Will be deleted: it is in the app but not in the file",
}


@dataclass
class Row:
    kind: str
    name: str
    body: dict
    sentence: str  # the base metric and the filter, in words
    position: int | None = None  # in the file; None for a removal
    new_name: str = ""  # a replacement's name
    choice: str = ""  # for a conflict: SKIP or REPLACE
    existing_as: str = ""  # unchanged because an earlier replacement holds it
    result: str = ""
    done: bool = False

    @property
    def words(self) -> str:
        if self.kind == UNCHANGED and self.existing_as:
            return f"Already there as {self.existing_as} (an earlier replacement): nothing to do"
        return KIND_WORDS[self.kind]

    @property
    def writes(self) -> int:
        if self.kind in (CREATE, REMOVE):
            return 1
        return 1 if self.kind == CONFLICT and self.choice == REPLACE else 0


@dataclass
class Plan:
    app_id: str
    document: exchange.Document
    rows: list[Row] = field(default_factory=list)
    delete_missing: bool = False

    @property
    def problems(self) -> list[exchange.Problem]:
        return self.document.problems

    def of(self, kind: str) -> list[Row]:
        return [r for r in self.rows if r.kind == kind]

    @property
    def changes(self) -> list[Row]:
        """The rows that would change something (the plan's table); the unchanged are listed apart."""
        return [r for r in self.rows if r.kind != UNCHANGED]

    @property
    def of_create(self) -> list[Row]:
        return self.of(CREATE)

    @property
    def decisions(self) -> list[Row]:
        """Conflicts and removals: the rows a person decides on or confirms."""
        return [r for r in self.rows if r.kind in (CONFLICT, REMOVE)]

    @property
    def of_unchanged(self) -> list[Row]:
        return self.of(UNCHANGED)

    @property
    def conflicts(self) -> list[Row]:
        return self.of(CONFLICT)

    @property
    def unresolved(self) -> list[Row]:
        return [r for r in self.conflicts if r.choice not in (SKIP, REPLACE)]

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.rows)

    @property
    def removals(self) -> list[Row]:
        return self.of(REMOVE)

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of(kind)) for kind in KIND_WORDS}


def _sentence(body: Mapping, said: dict[str, str]) -> str:
    """The base metric and filter in words; ``said`` keeps those already put, as files repeat them."""
    metric = body.get("metric", "")
    key = repr((metric, body.get("filters") or {}))  # a key differing only in order just says it again
    if key not in said:
        filters = describe.filter_sentence(body.get("filters") or {}, catalog.get(metric))
        said[key] = f"{catalog.display_name(metric)}: {filters}"
    return said[key]


_VERSIONED = re.compile(r"(.+)_v\d+")


def related(names: set[str]) -> Callable[[str], bool]:
    """Whether an app's metric bears on a plan for a file of ``names``: one of them, or a ``_vN`` of one."""
    stems = names | {match.group(1) for name in names if (match := _VERSIONED.fullmatch(name))}

    def bears(name: str) -> bool:
        match = _VERSIONED.fullmatch(name)
        return name in stems or bool(match and match.group(1) in stems)

    return bears


def _versions(existing: Sequence[upstream.CustomMetric]) -> dict[str, list[upstream.CustomMetric]]:
    """The app's metrics named ``<stem>_vN`` (``next_free_name``'s replacements), by stem: one pass."""
    found: dict[str, list[upstream.CustomMetric]] = {}
    for metric in existing:
        match = _VERSIONED.fullmatch(metric.name)
        if match:
            found.setdefault(match.group(1), []).append(metric)
    return found


def _replacement(name: str, body: dict, versions: Mapping[str, list[upstream.CustomMetric]]) -> str:
    """The name of an earlier replacement of ``name`` with exactly this definition, if any."""
    match = _VERSIONED.fullmatch(name)
    for other in versions.get(match.group(1) if match else name, ()):
        if other.name != name and other.same_definition({**body, "name": other.name}):
            return other.name
    return ""


def build(
    app_id: str,
    document: exchange.Document,
    existing: Sequence[upstream.CustomMetric],
    *,
    delete_missing: bool = False,
    choices: Mapping[str, str] | None = None,
    on_conflict: str = "",
    only_remove: set[str] | None = None,
) -> Plan:
    """The plan for ``document`` against the app's current ``existing`` metrics (one list call's worth).

    ``choices`` maps a conflicting name to SKIP or REPLACE (``on_conflict`` is the default for all);
    ``only_remove`` limits deletions to the names a person confirmed on an earlier plan.
    """
    choices = choices or {}
    by_name = {m.name: m for m in existing}
    taken = set(by_name)
    plan = Plan(app_id, document, delete_missing=delete_missing)
    said: dict[str, str] = {}
    versions = _versions(existing)
    for entry in document.entries:
        body, name = entry.body, entry.body["name"]
        row = Row(CREATE, name, body, _sentence(body, said), entry.position)
        current = by_name.get(name)
        known = name in document.compared  # compared while the file was read: identical or not, it is known
        same = name in document.identical if known else current is not None and current.same_definition(body)
        if current is not None and same:
            row.kind = UNCHANGED
        elif current is not None:
            row.existing_as = _replacement(name, body, versions)
            if row.existing_as:
                row.kind = UNCHANGED
            else:
                row.kind, row.choice = CONFLICT, choices.get(name, on_conflict)
                row.new_name = next_free_name(name, taken)
                taken.add(row.new_name)
        plan.rows.append(row)
    if delete_missing:
        wanted = document.names
        kept = {r.existing_as for r in plan.rows if r.existing_as}
        for metric in sorted(existing, key=lambda m: m.name):
            if metric.name in wanted or metric.name in kept:
                continue
            if only_remove is not None and metric.name not in only_remove:
                continue
            plan.rows.append(
                Row(REMOVE, metric.name, metric.definition(), _sentence(metric.definition(), said))
            )
    return plan


@dataclass(frozen=True)
class Writer:
    """How an apply writes: ``create(body) -> writes.Outcome``, ``delete(name) -> writes.Deletion``,
    and ``noted(row, name)`` after a metric the file describes is there (to write its notes)."""

    create: Callable[[dict], create_guard.Outcome]
    delete: Callable[[str], create_guard.Deletion]
    noted: Callable[[Row, str], None]


CREATE_RESULTS = {
    create_guard.CREATED: "Done: created.",
    create_guard.EXISTED: "Already so: it was there with exactly these settings.",
    create_guard.CONFLICT: "Failed: a metric with this name and other settings appeared meanwhile.",
}


def apply(plan: Plan, writer: Writer) -> None:
    """Make every write the plan lists, in file order then removals; each row says how it ended."""
    for row in plan.rows:
        if row.kind == UNCHANGED:
            row.result, row.done = "Already so: nothing to do.", True
            writer.noted(row, row.existing_as or row.name)
        elif row.kind == CONFLICT and row.choice != REPLACE:
            row.result = "Skipped, as chosen: the existing metric was left as it is."
        elif row.kind in (CREATE, CONFLICT):
            name = row.new_name if row.kind == CONFLICT else row.name
            outcome = writer.create({**row.body, "name": name})
            row.done = outcome.succeeded
            row.result = CREATE_RESULTS.get(outcome.kind) or _failed(outcome.error)
            if row.done:
                if row.kind == CONFLICT:
                    row.result = (
                        f"Done: created as {name}. The old {row.name} still exists; delete it when ready."
                    )
                writer.noted(row, name)
        elif row.kind == REMOVE:
            deletion = writer.delete(row.name)
            row.done = deletion.gone
            if deletion.kind == create_guard.ALREADY_DELETED:
                row.result = "Already so: it was already deleted."
            else:
                row.result = "Done: deleted." if deletion.gone else _failed(deletion.error)


def _failed(error: Exception | None) -> str:
    return f"Failed: {getattr(error, 'message', '') or 'Embrace did not confirm it.'}"
