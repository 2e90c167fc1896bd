"""The export file: an app's metrics as the Custom Metrics API's own create bodies, with the console's
notes beside them, and reading such a file back with each bad entry named by its position.

    {"format": "custom-metrics-console", "version": 1, "app_id": "appID1", "exported_at": "…",
     "metrics": [<create body>, …], "notes": {"<name>": {"description": "…", "owner": "…"}}}

Each item of ``metrics`` is exactly what ``POST /api/v1/app/{app_id}/custom-metrics`` takes, so
``jq -c '.metrics[]'`` feeds curl directly. JSON, not YAML: it is the API's own format, needs no
extra dependency and no safe-loading care, and every tool on the path (curl, jq, CI) reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from metrics_ui import bounded_json, catalog, filter_tree, upstream
from metrics_ui.metrics import group_by as group_bys
from metrics_ui.metrics.form import MetricForm, name_problem

FORMAT = "custom-metrics-console"
VERSION = 1
BODY_KEYS = ("name", "metric", "group_by", "filters", "time_granularity", "data_destination")
MAX_FILE_CHARS = 2_000_000
MAX_METRICS = 5000


def dump(app_id: str, metrics: Sequence, notes: Mapping[str, dict]) -> str:
    """The export file for ``metrics`` (``upstream.CustomMetric``) with their ``notes``."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "app_id": app_id,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "metrics": [m.definition() for m in sorted(metrics, key=lambda m: m.name)],
        "notes": dict(notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def filename(app_id: str) -> str:
    return f"{app_id}-custom-metrics.json"


@dataclass(frozen=True)
class Entry:
    position: int  # 1-based, as a person counts the file's metrics
    body: dict


@dataclass(frozen=True)
class Problem:
    position: int | None  # None: the file as a whole
    name: str
    reason: str

    @property
    def where(self) -> str:
        if self.position is None:
            return "The file"
        return f"Metric {self.position}" + (f" ({self.name})" if self.name else "")


@dataclass
class Document:
    """A read file: its valid entries, its problems, the app it came from and its notes."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    app_id: str = ""
    notes: dict[str, dict] = field(default_factory=dict)
    # Names whose entry is exactly the app's metric of that name (found while checking; saves a compare),
    # and the names compared at all: an entry compared and not identical is known to differ.
    identical: set[str] = field(default_factory=set)
    compared: set[str] = field(default_factory=set)

    @property
    def names(self) -> set[str]:
        return {e.body["name"] for e in self.entries}


def read(
    text: str, metrics: Mapping[str, catalog.BaseMetric], existing: Iterable[upstream.CustomMetric] = ()
) -> Document:
    """Parse and check a file against the target app's base metrics ``metrics``.

    An entry identical to one of the app's ``existing`` metrics is not put through the form: Embrace
    already holds it, and it won't be sent (the form costs about a millisecond per entry).
    A bare list of create bodies, or a single create body, is read too (what curl users have).
    """
    held = {m.name: m for m in existing}
    checked: dict[str, str] = {}  # a definition (name aside) checked once: files repeat shapes
    document = Document()
    if not text.strip():
        document.problems.append(Problem(None, "", "The file is empty. Choose an export file or paste one."))
        return document
    try:
        data = bounded_json.loads(text, max_chars=MAX_FILE_CHARS)
    except bounded_json.Refused as error:
        document.problems.append(Problem(None, "", error.message))
        return document
    except ValueError as error:
        document.problems.append(Problem(None, "", f"This isn't valid JSON: {_json_reason(error)}"))
        return document
    items = _items(data, document)
    if items is None:
        return document
    if len(items) > MAX_METRICS:
        document.problems.append(
            Problem(None, "", f"The file has {len(items)} metrics; at most {MAX_METRICS}.")
        )
        return document
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        name = item.get("name") if isinstance(item, dict) else None
        name = name if isinstance(name, str) else ""
        reason = _checked(item, metrics, held.get(name), checked, document)
        if not reason and name in seen:
            reason = "The same name appears earlier in the file; each name can be imported once."
        if reason:
            document.problems.append(Problem(position, name, reason))
            continue
        seen.add(name)
        document.entries.append(Entry(position, {k: item[k] for k in BODY_KEYS if k in item}))
    return document


def names_in(text: str) -> set[str]:
    """The metric names a file mentions, read cheaply before it is checked (empty when it can't be read)."""
    try:
        items = _items(bounded_json.loads(text, max_chars=MAX_FILE_CHARS), Document())
    except ValueError:
        return set()
    return {
        item["name"] for item in items or () if isinstance(item, dict) and isinstance(item.get("name"), str)
    }


def _checked(item: object, metrics, held, checked: dict[str, str], document: Document) -> str:
    """``entry_problem``, the form run once per distinct definition and the name checked on its own."""
    if not isinstance(item, dict) or not isinstance(item.get("name", ""), str):
        return entry_problem(item, metrics, held)
    if held is not None and _shape_ok(item):
        document.compared.add(held.name)
        if _same(held, item):
            document.identical.add(held.name)
            return ""
    # repr, not JSON: about twice as fast, and a key that differs only in order just checks again.
    key = repr(sorted((k, v) for k, v in item.items() if k != "name"))
    if key not in checked:
        checked[key] = entry_problem({**item, "name": "name_checked_apart"}, metrics)
    problem = name_problem(item.get("name", ""))
    return " ".join(p for p in (f"Name: {problem}" if problem else "", checked[key]) if p)


def _same(held: upstream.CustomMetric, item: dict) -> bool:
    # An exported entry is exactly ``definition()``: plain comparisons first (no copies), then the
    # normalised one (defaults, order).
    exact = (
        held.metric == item.get("metric")
        and held.filters == item.get("filters")
        and list(held.group_by) == item.get("group_by")
        and list(held.time_granularity) == item.get("time_granularity")
        and list(held.data_destination) == item.get("data_destination")
    )
    return exact or held.same_definition(item)


def _shape_ok(item: dict) -> bool:
    lists = ("group_by", "time_granularity", "data_destination")
    return all(isinstance(item.get(k, []), list) for k in lists) and isinstance(item.get("metric", ""), str)


def _json_reason(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}."
    return str(error)


def _items(data: object, document: Document) -> list | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and "metrics" not in data and "name" in data:
        return [data]
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        document.problems.append(
            Problem(
                None,
                "",
                "This isn't a metrics file: it needs a “metrics” list (export one to see the format).",
            )
        )
        return None
    version = data.get("version", VERSION)
    if version != VERSION:
        document.problems.append(
            Problem(None, "", f"This file is format version {version}; this console reads version {VERSION}.")
        )
        return None
    document.app_id = data.get("app_id") if isinstance(data.get("app_id"), str) else ""
    notes = data.get("notes")
    if isinstance(notes, dict):
        document.notes = {
            str(name): {
                k: str(v) for k, v in value.items() if k in ("description", "owner") and isinstance(v, str)
            }
            for name, value in notes.items()
            if isinstance(value, dict)
        }
    return data["metrics"]


def entry_problem(
    item: object, metrics: Mapping[str, catalog.BaseMetric], held: upstream.CustomMetric | None = None
) -> str:
    """Why ``item`` can't be created in an app offering ``metrics``, by the create form's own rules;
    empty when it can, or when it is exactly ``held``, the app's metric of that name."""
    if not isinstance(item, dict):
        return "Each metric must be a JSON object with a name, a base metric and its settings."
    unknown = sorted(set(item) - set(BODY_KEYS) - {"custom_metric_id", "app_id"})
    if unknown:
        return f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
    for key in ("group_by", "time_granularity", "data_destination"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"“{key}” must be a list of texts."
    if not isinstance(item.get("name", ""), str) or not isinstance(item.get("metric", ""), str):
        return "“name” and “metric” must be texts."
    if held is not None and held.same_definition(item):
        return ""
    if item.get("metric", "") not in metrics:
        shown = item.get("metric") or "(none)"
        return f"Base metric: “{shown[:100]}” isn't one this app offers (for example sessions_total)."
    try:
        tree = filter_tree.from_json(item.get("filters") or {})
    except filter_tree.FilterError as error:
        return f"Its filter can't be read: {error}"
    form = MetricForm(_form_data(item), metrics=metrics, tree=tree)
    if form.is_valid():
        return ""
    return " ".join(_messages(form))


def _form_data(item: Mapping) -> dict:
    return {
        "name": item.get("name", ""),
        "metric": item.get("metric", ""),
        **group_bys.to_form(item.get("group_by") or []),
        "time_granularity": list(item.get("time_granularity") or []),
        "data_destination": list(item.get("data_destination") or []),
    }


def _messages(form: MetricForm) -> Iterable[str]:
    for field_name, errors in form.errors.items():
        label = form.fields[field_name].label if field_name in form.fields else ""
        for error in errors:
            yield (
                f"{label or field_name.replace('_', ' ').capitalize()}: {error}"
                if field_name != "__all__"
                else error
            )
    for node_error in form.tree_errors:
        yield f"Filter: {node_error.message}"
