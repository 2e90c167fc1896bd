"""The create form: its fields, the filter-tree builder's state and actions, and upstream outcomes.

Everything the person has entered lives in the posted form, never in the session: the tree in the
``filter-…`` fields (see ``filter_tree``), the builder's undo/redo stacks in one signed hidden field
(``history``), and the base metric the tree was built for (``built_for``), so two tabs never
interfere and any failure can re-render the form exactly as it was.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field, replace
from functools import cached_property

from django import forms
from django.core import signing
from django.core.cache import cache
from django.http import Http404
from django.utils.html import format_html, format_html_join

from metrics_ui import bounded_json, catalog, filter_tree, upstream
from metrics_ui.metrics import writes as create_guard
from metrics_ui.filter_tree import Condition, Group, Property, Range
from metrics_ui.metrics import writes as create_guard

PREFIX = "filter"
HISTORY_DEPTH = 20  # undo steps kept
HISTORY_MAX_CHARS = 6000  # the signed field stays small; oldest steps go first
HISTORY_SALT = "metrics_ui.builder.history"
# Parameters change rarely; without this every builder click would wait for Embrace.
PARAMETERS_CACHE_SECONDS = 300


# --- base metrics -----------------------------------------------------------------------------------


def base_metrics(client: upstream.Client, app_id: str) -> tuple[dict[str, catalog.BaseMetric], bool]:
    """The app's base metrics from the ``parameters`` endpoint, or the built-in catalog when it fails.

    Returns ``(metrics, from_catalog)``; ``from_catalog`` is True when the fallback was used.
    """
    key = f"metrics_ui:parameters:{getattr(client, 'region', '')}:{app_id}"
    cached = cache.get(key)
    if cached:
        return cached, False
    try:
        metrics = dict(client.parameters(app_id))
    except upstream.UpstreamError:
        return dict(catalog.CATALOG), True
    if not metrics:
        return dict(catalog.CATALOG), True
    cache.set(key, metrics, PARAMETERS_CACHE_SECONDS)
    return metrics, False


# --- undo / redo ----------------------------------------------------------------------------------


def _pack(node: filter_tree.Node) -> list:
    if isinstance(node, Group):
        return [node.connector, [_pack(c) for c in node.children]]
    value = node.value
    if isinstance(value, Range):
        packed: object = ["r", value.start, value.end]
    elif isinstance(value, Property):
        packed = ["p", value.key, value.values]
    else:
        packed = value
    return [node.key, node.op, packed]


def _unpack(data: object) -> filter_tree.Node:
    if isinstance(data, list) and len(data) == 2 and isinstance(data[1], list):
        return Group(str(data[0]), tuple(_unpack(c) for c in data[1]))
    if isinstance(data, list) and len(data) == 3:
        key, op, value = data
        if isinstance(value, list) and len(value) == 3 and value[0] == "r":
            value = Range(str(value[1]), str(value[2]))
        elif isinstance(value, list) and len(value) == 3 and value[0] == "p":
            value = Property(str(value[1]), str(value[2]))
        return Condition(str(key), str(op), value if isinstance(value, (Range, Property)) else str(value))
    raise ValueError("not a packed tree")


def _insert(tree: Group, path: tuple[int, ...], node: filter_tree.Node) -> Group:
    parent = filter_tree.get(tree, path[:-1])
    if not path or not isinstance(parent, Group) or not 0 <= path[-1] <= len(parent.children):
        return tree
    children = list(parent.children)
    children.insert(path[-1], node)
    return filter_tree.set_node(tree, path[:-1], replace(parent, children=tuple(children)))


def _step(tree: Group, entry: list) -> tuple[Group, list]:
    """Apply one history entry; return the new tree and the entry that takes it back.

    Entries are small inverse operations (``["rm", path]``, ``["ins", path, node]``, ``["mv", path,
    delta]``, ``["cn", path, connector]``) or a whole earlier tree (``["tree", packed]``), so the
    history of a person adding twenty conditions stays a few hundred bytes.
    """
    kind, path = entry[0], tuple(entry[1]) if len(entry) > 1 and isinstance(entry[1], list) else ()
    if kind == "rm":
        node = filter_tree.get(tree, path)
        if node is None or not path:
            raise ValueError("stale entry")
        return filter_tree.remove(tree, path), ["ins", list(path), _pack(node)]
    if kind == "ins":
        return _insert(tree, path, _unpack(entry[2])), ["rm", list(path)]
    if kind == "mv":
        delta = int(entry[2])
        return filter_tree.move(tree, path, delta), ["mv", list(filter_tree.moved_path(path, delta)), -delta]
    if kind == "cn":
        group = filter_tree.get(tree, path)
        if not isinstance(group, Group):
            raise ValueError("stale entry")
        return filter_tree.set_connector(tree, path, str(entry[2])), ["cn", list(path), group.connector]
    if kind == "tree":
        restored = _unpack(entry[1])
        return (restored if isinstance(restored, Group) else filter_tree.EMPTY), ["tree", _pack(tree)]
    raise ValueError("unknown entry")


@dataclass
class History:
    """Undo and redo entries (see ``_step``), newest last. Bounded in steps and in characters."""

    undo: list = field(default_factory=list)
    redo: list = field(default_factory=list)

    @classmethod
    def load(cls, text: str) -> History:
        # A tampered or stale field just means no history; it is the person's own data anyway.
        try:
            data = signing.loads(text or "", salt=HISTORY_SALT)
            return cls(list(data["u"]), list(data["r"]))
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            return cls()

    def dump(self) -> str:
        self.undo = self.undo[-HISTORY_DEPTH:]
        self.redo = self.redo[-HISTORY_DEPTH:]
        while True:
            text = signing.dumps({"u": self.undo, "r": self.redo}, salt=HISTORY_SALT, compress=True)
            if len(text) <= HISTORY_MAX_CHARS or not (self.undo or self.redo):
                return text
            if self.redo:
                self.redo.pop(0)
            else:
                self.undo.pop(0)

    def record(self, entry: list) -> None:
        self.undo.append(entry)
        self.redo.clear()

    def step(self, current: Group, back: bool) -> Group:
        source, target = (self.undo, self.redo) if back else (self.redo, self.undo)
        while source:
            try:
                tree, inverse = _step(current, source.pop())
            except (ValueError, TypeError, IndexError, KeyError, filter_tree.FilterError):
                continue  # an entry that no longer fits the tree (edited meanwhile) is skipped
            target.append(inverse)
            return tree
        return current


# --- builder ----------------------------------------------------------------------------------------

# Builder actions answered to HTMX with the builder fragment alone. FORM_ACTIONS change other fields
# too: their controls select #create-form out of the whole page.
TREE_ACTIONS = ("add_condition", "add_group", "remove", "confirm_remove", "keep", "clone", "up", "down",
                "connector", "undo", "redo", "fix", "refresh")  # fmt: skip
FORM_ACTIONS = ("change_metric", "import_json")


@dataclass
class Builder:
    """The filter tree being edited, with its history and what the last action has to tell the person."""

    tree: Group
    metric: catalog.BaseMetric | None
    history: History
    notices: list[str] = field(default_factory=list)
    error: str = ""  # a builder step that couldn't be done (a limit), shown above the tree
    import_error: str = ""
    confirm_path: tuple[int, ...] | None = None  # a non-empty group waiting for "really remove?"
    focus: str = ""  # DOM id to focus after the action (keyboard users keep their place)
    imported: dict | None = None  # a whole request body pasted as JSON: it fills the other fields too
    added: tuple[int, ...] | None = None  # where the last add/clone put a node (for the small fragment)
    inverse: list | None = None  # the history entry that undoes the last action, when one is cheap
    appended: bool = False  # the last action only appended a blank condition (nothing else changed)

    @classmethod
    def from_data(cls, data, metric: catalog.BaseMetric | None) -> Builder:
        return cls(filter_tree.from_form(data, PREFIX), metric, History.load(data.get("history", "")))

    def apply(self, action: str, data) -> None:
        """Run one builder action (``"add_condition:0.1"`` …) and record it for undo."""
        verb, _, arg = action.partition(":")
        before = self.tree
        self.inverse = None
        try:
            self.tree = self._run(verb, arg, data)
        except filter_tree.FilterError as error:
            self.error = error.message
            self.tree = before
        if self.metric is not None:
            # A key just chosen gets its operators and the value editor of its type.
            conformed = filter_tree.conform(self.tree, self.metric)
            if conformed != self.tree:
                self.tree, self.inverse = conformed, None
        self.appended = bool(
            verb == "add_condition"
            and self.added
            and not self.error
            and filter_tree.remove(self.tree, self.added) == before
        )
        # Typing into fields ("refresh") isn't a builder step; undo goes back over steps only.
        if verb not in ("undo", "redo", "refresh") and self.tree != before:
            self.history.record(self.inverse or ["tree", _pack(before)])

    def _run(self, verb: str, arg: str, data) -> Group:
        tree = self.tree
        if verb == "undo" or verb == "redo":
            return self.history.step(tree, back=verb == "undo")
        if verb == "fix":
            return filter_tree.apply_fix(tree, arg)
        if verb == "import_json":
            return self._import(data.get("json_import", ""))
        path_text, _, extra = arg.partition(":")
        path = filter_tree.parse_path(path_text)
        if path is None:
            return tree
        node = filter_tree.get(tree, path)
        if verb in ("add_condition", "add_group"):
            add = filter_tree.add_condition if verb == "add_condition" else filter_tree.add_group
            tree = add(tree, path)
            group = filter_tree.get(tree, path)
            if isinstance(group, Group) and group.children:
                self.added = (*path, len(group.children) - 1)
                # Focus goes to the new condition's key picker (a new group's first condition).
                self.focus = dom_id(self.added if verb == "add_condition" else (*self.added, 0), "key")
                self.inverse = ["rm", list(self.added)]
            return tree
        if verb == "clone" and path:
            copy = (*path[:-1], path[-1] + 1)
            self.focus = dom_id(copy, "clone")
            self.inverse = ["rm", list(copy)]
            return filter_tree.clone(tree, path)
        if verb in ("up", "down") and path:
            delta = -1 if verb == "up" else 1
            moved = filter_tree.move(tree, path, delta)
            if moved != tree:
                self.focus = dom_id(filter_tree.moved_path(path, delta), verb)
                self.inverse = ["mv", list(filter_tree.moved_path(path, delta)), -delta]
            return moved
        if verb == "connector":
            if isinstance(node, Group):
                self.inverse = ["cn", list(path), node.connector]
            return filter_tree.set_connector(tree, path, extra)
        if verb == "confirm_remove" and path and node is not None:
            self.focus = dom_id(path[:-1], "add")
            self.inverse = ["ins", list(path), _pack(node)]
            return filter_tree.remove(tree, path)
        if verb == "remove":
            # A group that holds conditions asks first. HTMX asked already (hx-confirm on the button).
            if isinstance(node, Group) and node.children and not data.get("_confirmed"):
                self.confirm_path = path
                self.focus = dom_id(path, "confirm")
                return tree
            if path and node is not None:
                self.focus = dom_id(path[:-1], "add")
                self.inverse = ["ins", list(path), _pack(node)]
            return filter_tree.remove(tree, path)
        return tree  # "refresh", "keep" and unknown verbs just re-render what was posted

    def _import(self, text: str) -> Group:
        try:
            parsed = bounded_json.loads(text) if text.strip() else {}
        except ValueError:  # over a limit or broken: from_json explains which, and where
            parsed = None
        if isinstance(parsed, dict) and ("metric" in parsed or "name" in parsed):
            self.imported = parsed
            parsed = parsed.get("filters") or {}
        try:
            tree = filter_tree.from_json(text if parsed is None else parsed)
        except filter_tree.FilterError as error:
            self.import_error = error.message
            self.imported = None
            return self.tree
        self.notices.append(
            "The pasted filter now fills the builder below. Undo brings back the previous one."
        )
        return tree

    def drop_inapplicable(self) -> None:
        """Remove the conditions the base metric doesn't allow, and say which."""
        if self.metric is None:
            return
        tree, dropped = filter_tree.drop_inapplicable(self.tree, self.metric)
        if tree != self.tree:
            self.history.record(["tree", _pack(self.tree)])
            self.tree = tree
            described = ", ".join(f"“{filter_tree.condition_sentence(c)}”" for _, c in dropped)
            self.notices.append(
                f"{self.metric.display_name} can't be filtered that way, so these conditions were removed: "
                f"{described}. Undo brings them back."
            )


def merge_import(data, body: dict):
    """Posted form data with the fields of a pasted request body put in (the tree is done already)."""
    merged = data.copy()
    if isinstance(body.get("name"), str):
        merged["name"] = body["name"]
    if isinstance(body.get("metric"), str):
        merged["metric"] = body["metric"]
        merged["built_for"] = body["metric"]
    lists = {k: [v for v in body.get(k) or [] if isinstance(v, str)] for k in
             ("group_by", "time_granularity", "data_destination")}  # fmt: skip
    plain = [g for g in lists["group_by"] if g.partition(".")[0] not in catalog.PROPERTY_GROUP_BYS]
    for prefix in catalog.PROPERTY_GROUP_BYS:
        keys = [g.partition(".")[2] for g in lists["group_by"] if g.startswith(prefix + ".")]
        if keys:
            plain.append(prefix)
            merged[f"group_by_key_{prefix}"] = ", ".join(keys)
    merged.setlist("group_by", plain)
    merged.setlist("time_granularity", lists["time_granularity"])
    merged.setlist("data_destination", lists["data_destination"])
    return merged


def dom_id(path: tuple[int, ...], part: str) -> str:
    """The DOM id of one control of a node (``f-0.1-key``); used for focus and aria-describedby."""
    return f"f-{filter_tree.path_str(path)}-{part}"


# --- the form -----------------------------------------------------------------------------------------

NAME_RULE = (
    f"Letters, digits and underscores; it can't start with a digit; at most {catalog.NAME_MAX_LENGTH} "
    "characters. For example sessions_by_version."
)
_NAME_RE = re.compile(catalog.NAME_PATTERN)

# Upstream 400 messages mention what they are about; the first matching field gets the message.
_REJECTION_FIELDS = (
    (("group_by", "group by", "group-by"), "group_by"),
    (("time_granularity", "granularity"), "time_granularity"),
    (("data_destination", "destination"), "data_destination"),
    (("filter", "field_op", "val ", "operator"), "filters"),
    (("base metric", "name of the metric", "unknown metric", "metric doesn't exist", "metric does not exist"),
     "metric"),
    (("name",), "name"),
    (("metric",), "metric"),
)  # fmt: skip


def name_problem(name: str) -> str:
    """Why ``name`` can't be a metric name, in words; empty when it can."""
    if not name:
        return "Give the metric a name."
    if len(name) > catalog.NAME_MAX_LENGTH:
        return f"That name is {len(name)} characters long; the limit is {catalog.NAME_MAX_LENGTH}."
    if name[0].isdigit():
        return "A name can't start with a digit."
    if not _NAME_RE.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c == "_"))})
        shown = " ".join("space" if c == " " else c for c in bad[:5])
        return f"Only letters, digits and underscores are allowed (not {shown})."
    return ""


class MetricForm(forms.Form):
    """Name, base metric, group-bys, granularities and destinations; the tree comes from the builder."""

    name = forms.CharField(
        max_length=catalog.NAME_MAX_LENGTH + 50,
        required=False,
        help_text=NAME_RULE,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                # As the person types, the page says whether the name is free (a relative URL: this page).
                "hx-get": "?check_name=1",
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#name-check",
                "hx-swap": "outerHTML settle:0ms",
                "hx-sync": "this:replace",
            }
        ),
    )
    metric = forms.ChoiceField(label="Base metric", error_messages={"required": "Choose what to count."})
    group_by = forms.MultipleChoiceField(
        label="Group by", required=False, widget=forms.CheckboxSelectMultiple
    )
    time_granularity = forms.MultipleChoiceField(
        label="Granularity", required=False, widget=forms.CheckboxSelectMultiple
    )
    data_destination = forms.MultipleChoiceField(
        label="Data destinations", required=False, widget=forms.CheckboxSelectMultiple
    )
    # Never typed into: the place where upstream messages about the filter are shown.
    filters = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args, metrics: dict[str, catalog.BaseMetric], tree: Group = filter_tree.EMPTY, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.tree = tree
        self.tree_errors: list[filter_tree.NodeError] = []
        self.fields["metric"].choices = [("", "Choose a base metric…")] + sorted(
            ((m.metric, m.display_name) for m in metrics.values()), key=lambda c: c[1].lower()
        )
        base = self.base_metric
        self.fields["group_by"].choices = [(g, catalog.key_label(g)) for g in (base.group_by if base else ())]
        grans = base.time_granularity if base else catalog.GRANULARITIES
        self.fields["time_granularity"].choices = [(g, catalog.GRANULARITY_LABELS.get(g, g)) for g in grans]
        dests = base.data_destination if base else catalog.DESTINATIONS
        self.fields["data_destination"].choices = [(d, catalog.DESTINATION_LABELS.get(d, d)) for d in dests]
        for prefix in self.property_group_bys:
            self.fields[f"group_by_key_{prefix}"] = forms.CharField(
                label=f"{catalog.key_label(prefix).capitalize()} keys (when “{prefix}” is ticked)",
                required=False,
                max_length=500,
                help_text="One or more keys, separated by commas, e.g. city, plan.",
            )

    @property
    def base_metric(self) -> catalog.BaseMetric | None:
        value = self.data.get("metric") if self.is_bound else self.initial.get("metric")
        return self.metrics.get(value or "")

    @property
    def property_group_bys(self) -> list[str]:
        base = self.base_metric
        return [g for g in (base.group_by if base else ()) if g in catalog.PROPERTY_GROUP_BYS]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        problem = name_problem(name)
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return name

    def clean(self) -> dict:
        data = super().clean()
        base = self.base_metric
        if base is None:
            return data
        group_by = []
        for choice in data.get("group_by", []):
            if choice not in catalog.PROPERTY_GROUP_BYS:
                group_by.append(choice)
                continue
            keys = [k.strip() for k in data.get(f"group_by_key_{choice}", "").split(",") if k.strip()]
            if not keys:
                self.add_error(f"group_by_key_{choice}", "Type the key to group by, or untick this group-by.")
            group_by.extend(f"{choice}.{k}" for k in keys)
        data["group_by_keys"] = group_by
        self.tree_errors = filter_tree.validate(self.tree, base)
        if self.tree_errors:
            self.add_error("filters", "The filter has problems: see the marked conditions.")
        return data

    def body(self) -> dict:
        """The request body sent to Embrace (call after ``is_valid``)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "metric": data["metric"],
            "group_by": data["group_by_keys"],
            "filters": filter_tree.to_json(self.tree, self.base_metric),
            "time_granularity": list(data["time_granularity"]),
            "data_destination": list(data["data_destination"]),
        }

    def add_upstream_error(self, error: upstream.UpstreamError, app_id: str) -> None:
        """Put a 400's message on the field it concerns; other failures become form-level errors."""
        if isinstance(error, upstream.Rejected):
            text = getattr(error, "upstream_message", "") or error.message
            lowered = text.lower()
            target = next((f for words, f in _REJECTION_FIELDS if any(w in lowered for w in words)), None)
            self.add_error(target, f"Embrace rejected this: {text}")
            return
        self.add_error(None, error.message)

    def add_conflict(self, existing: upstream.CustomMetric, app_id: str) -> None:
        self.add_error(
            "name",
            forms.ValidationError(
                "A metric named %(name)s already exists in %(app)s, with different settings.",
                code="conflict",
                params={"name": existing.name, "app": app_id},
            ),
        )


def initial_for(source: upstream.CustomMetric, name: str) -> tuple[dict, Group]:
    """Initial form values and tree that reproduce ``source`` under a new name."""
    groups = [g.partition(".")[0] if "." in g else g for g in source.group_by]
    initial: dict = {
        "name": name,
        "metric": source.metric,
        "group_by": sorted(set(groups)),
        "time_granularity": list(source.time_granularity),
        "data_destination": list(source.data_destination),
    }
    for prefix in catalog.PROPERTY_GROUP_BYS:
        keys = [g.partition(".")[2] for g in source.group_by if g.startswith(prefix + ".")]
        if keys:
            initial[f"group_by_key_{prefix}"] = ", ".join(keys)
    try:
        tree = filter_tree.from_json(source.filters or {})
    except filter_tree.FilterError:
        tree = filter_tree.EMPTY
    return initial, tree


def next_free_name(base: str, taken: set[str]) -> str:
    """``<base>_v2``, or ``_v3`` … when taken; a ``_vN`` suffix already on ``base`` is counted up."""
    match = re.fullmatch(r"(.*)_v(\d+)", base)
    stem, number = (match.group(1), int(match.group(2)) + 1) if match else (base, 2)
    while f"{stem}_v{number}"[: catalog.NAME_MAX_LENGTH] in taken:
        number += 1
    return f"{stem}_v{number}"[: catalog.NAME_MAX_LENGTH]


def curl_command(base_url: str, app_id: str, body: dict) -> str:
    """The create as a curl command, the token left as ``$EMBRACE_TOKEN`` for the person to supply."""
    url = f"{base_url.rstrip('/')}/api/v1/app/{app_id}/custom-metrics"
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        '  -H "Authorization: Bearer $EMBRACE_TOKEN" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(body, separators=(',', ':')))}"
    )


def outcome_words(outcome: create_guard.Outcome, app_id: str) -> str:
    """The success message for an outcome that succeeded."""
    name = outcome.metric.name if outcome.metric else ""
    if outcome.kind == create_guard.CREATED:
        return f"Created {name} in {app_id}."
    if outcome.via == "duplicate":
        return f"{name} was created by your other submission a moment ago; it was not created twice."
    if outcome.via == "timeout":
        return f"Embrace was slow to answer, so we checked: {name} was created in {app_id}."
    return f"{name} already existed in {app_id} with exactly these settings; nothing changed."


# --- what the template shows ---------------------------------------------------------------------

_EDITORS = {"int": "number", "boolean": "yes_no", "range": "range", "property": "property"}


def _human(path: tuple[int, ...]) -> str:
    return ".".join(str(i + 1) for i in path)


def _options(groups: list[tuple[str, list[tuple[str, str]]]], selected: str, blank: str | None) -> str:
    """``<option>``s (in ``<optgroup>``s when a group has a label), escaped, with ``selected`` marked."""
    chosen = '<option value="{}" selected>{}</option>'
    plain = '<option value="{}">{}</option>'
    parts = [format_html(plain, "", blank)] if blank is not None else []
    for label, options in groups:
        items = format_html_join(
            "", "{}", ((format_html(chosen if v == selected else plain, v, t),) for v, t in options)
        )
        parts.append(format_html('<optgroup label="{}">{}</optgroup>', label, items) if label else items)
    return format_html_join("", "{}", ((part,) for part in parts))


class BuilderView:
    """The builder flattened into rows for the template: ``open`` a group, a ``condition``, ``close``.

    Flat rows (rather than a recursive include per node) keep the fragment quick to render.
    """

    def __init__(
        self,
        form: MetricForm,
        builder: Builder,
        app_id: str,
        *,
        region: str = "sandbox",
        submitted: bool = False,
    ):
        self.form = form
        self.region = region
        self.builder = builder
        self.app_id = app_id
        self.metric = form.base_metric
        self.submitted = submitted
        tree = builder.tree
        self.sentence = filter_tree.sentence(tree, self.metric)
        self.filtered = any(True for _ in filter_tree.conditions(tree))
        self.warnings = filter_tree.lint(tree)
        self.history = builder.history.dump()
        self.can_undo = bool(builder.history.undo)
        self.can_redo = bool(builder.history.redo)
        self.max_conditions = filter_tree.MAX_CONDITIONS
        self.max_depth = filter_tree.MAX_DEPTH

    @cached_property
    def errors(self) -> dict[tuple, list[filter_tree.NodeError]]:
        """Validation messages by node path (only computed when something shows them)."""
        if self.metric is None:
            return {}
        tree = self.builder.tree
        found = self.form.tree_errors if self.submitted else filter_tree.validate(tree, self.metric)
        errors: dict[tuple, list[filter_tree.NodeError]] = {}
        for error in found:
            node = filter_tree.get(tree, error.path)
            # A condition just added isn't wrong yet; it is only unfinished (until the person submits).
            if not self.submitted and isinstance(node, Condition) and not node.key:
                continue
            errors.setdefault(error.path, []).append(error)
        return errors

    @property
    def root_errors(self) -> list[str]:
        return [e.message for e in self.errors.get((), [])]

    @property
    def filter_errors(self) -> list[str]:
        """Upstream messages about the filter, once the form has been validated (never validates it)."""
        errors = self.form._errors  # None until the form is cleaned; a builder step never cleans it
        return list(errors.get("filters", [])) if errors else []

    @cached_property
    def rows(self) -> list[dict]:
        rows: list[dict] = []
        self._rows(rows, self.builder.tree, (), 1, None)
        return rows

    @property
    def incremental(self) -> bool:
        """True when the last action only appended a blank condition: the page needs that row alone."""
        return self.builder.appended

    @cached_property
    def added_row(self) -> dict:
        path = self.builder.added
        node = filter_tree.get(self.builder.tree, path)
        return self._row(path, len(path) + 1, path[-1] + 1, node)  # the new node is its group's last

    @property
    def added_parent(self) -> str:
        return filter_tree.path_str(self.builder.added[:-1])

    @property
    def previous_row(self) -> dict | None:
        """The node before the new one: its "move down" button comes alive."""
        path = self.builder.added
        if not path or path[-1] == 0:
            return None
        before = (*path[:-1], path[-1] - 1)
        node = filter_tree.get(self.builder.tree, before)
        kind = "condition" if isinstance(node, Condition) else "group"
        return {"path": filter_tree.path_str(before), "name": f"{kind} {_human(before)}", "last": False}

    def _row(self, path, level, siblings, node) -> dict:
        base = self._base(path, level, siblings)
        return {
            **base,
            "kind": "condition",
            "name": f"condition {_human(path)}",
            **self._condition(node, path),
        }

    def _base(self, path: tuple[int, ...], level: int, siblings: int | None) -> dict:
        return {
            "path": filter_tree.path_str(path),
            "human": _human(path),
            "level": level,
            "first": not path or path[-1] == 0,
            "last": siblings is None or path[-1] == siblings - 1,
            "errors": self.errors.get(path, []) if path else [],
        }

    def _rows(
        self, rows: list, node: filter_tree.Node, path: tuple, level: int, siblings: int | None
    ) -> None:
        base = self._base(path, level, siblings)
        if isinstance(node, Group):
            name = "the whole filter" if not path else f"group {_human(path)}"
            rows.append(
                {
                    **base,
                    "kind": "open",
                    "name": name,
                    "connector": node.connector,
                    "other": "or" if node.connector == "and" else "and",
                    "size": len(node.children),
                    "conditions": len(filter_tree.conditions(node)),
                    "confirm": self.builder.confirm_path == path,
                    "can_nest": level < filter_tree.MAX_DEPTH,
                }
            )
            for index, child in enumerate(node.children):
                self._rows(rows, child, (*path, index), level + 1, len(node.children))
            rows.append({**base, "kind": "close", "name": name, "empty": not node.children})
            return
        rows.append(
            {**base, "kind": "condition", "name": f"condition {_human(path)}", **self._condition(node, path)}
        )

    def _condition(self, node: Condition, path: tuple[int, ...]) -> dict:
        spec = self.metric.filter(node.key) if self.metric and node.key else None
        keys = list(self.metric.filters) if self.metric else []
        global_names = {f.name for f in catalog.GLOBAL_FILTERS}
        key_groups = [
            ("Any base metric", [(f.name, f.label) for f in keys if f.name in global_names]),
            (f"Only {self.metric.display_name}" if self.metric else "", [
                (f.name, f.label) for f in keys if f.name not in global_names
            ]),
        ]  # fmt: skip
        if node.key and spec is None:
            key_groups.append(("Not available for this metric", [(node.key, catalog.key_label(node.key))]))
        ops = list(spec.supported_ops) if spec else list(catalog.OPERATORS)
        if node.op and node.op not in ops:
            ops.append(node.op)
        type_ = filter_tree.key_type(node.key, self.metric)
        value = node.value
        if isinstance(value, Range) or type_ == "range":
            editor = "range"
        elif isinstance(value, Property) or type_ == "property":
            editor = "property"
        elif node.op == "in":
            editor = "list"
        else:
            editor = _EDITORS.get(type_, "text")
        fields = {e.field: e.message for e in self.errors.get(path, [])}
        return {
            "key": node.key,
            "op": node.op,
            # Built here rather than by template loops: the builder's fragments must render in a few ms.
            "key_options": _options(
                [(label, options) for label, options in key_groups if options], node.key, "Choose a filter…"
            ),
            "op_options": _options(
                [("", [(o, catalog.OPERATOR_LABELS.get(o, o)) for o in ops])],
                node.op,
                "…" if not node.op else None,
            ),
            "editor": editor,
            "text": value if isinstance(value, str) else "",
            "start": value.start if isinstance(value, Range) else "",
            "end": value.end if isinstance(value, Range) else "",
            "pkey": value.key if isinstance(value, Property) else "",
            "values": value.values if isinstance(value, Property) else "",
            "field_errors": fields,
            "words": filter_tree.condition_sentence(node, self.metric),
        }

    def apply_outcome(self, outcome: create_guard.Outcome) -> None:
        """Tell the form what an unsuccessful create amounted to (called by the view)."""
        form = self.form
        if outcome.kind == create_guard.CONFLICT and outcome.metric is not None:
            form.add_conflict(outcome.metric, self.app_id)
        elif outcome.kind == create_guard.FAILED and outcome.error is not None:
            form.add_upstream_error(outcome.error, self.app_id)

    @property
    def request_body(self) -> dict | None:
        """The body the Create button would send, when the form is complete enough to say."""
        if self.metric is None:
            return None
        try:
            filters = filter_tree.to_json(self.builder.tree, self.metric)
        except filter_tree.FilterError:
            return None
        data = self.form.data if self.form.is_bound else self.form.initial
        get_list = data.getlist if hasattr(data, "getlist") else lambda k: list(data.get(k, []))
        group_by = []
        for choice in get_list("group_by"):
            if choice in catalog.PROPERTY_GROUP_BYS:
                keys = str(data.get(f"group_by_key_{choice}", "")).split(",")
                group_by.extend(f"{choice}.{k.strip()}" for k in keys if k.strip())
            else:
                group_by.append(choice)
        return {
            "name": str(data.get("name", "")).strip(),
            "metric": self.metric.metric,
            "group_by": group_by,
            "filters": filters,
            "time_granularity": get_list("time_granularity"),
            "data_destination": get_list("data_destination"),
        }

    @property
    def request_json(self) -> str:
        body = self.request_body
        return json.dumps(body, indent=2) if body is not None else ""

    @property
    def curl(self) -> str:
        body = self.request_body
        if body is None:
            return ""
        try:
            base = upstream.base_url(self.region)
        except Exception:  # the curl line is a convenience; never let it break the page
            base = "https://api.embrace.io/custom-metrics"
        return curl_command(base, self.app_id, body)


# --- copy to other apps -----------------------------------------------------------------------------

WILL_CREATE, IDENTICAL, CONFLICTS, CANNOT = "create", "identical", "conflict", "cannot"
PLAN_WORDS = {
    WILL_CREATE: "Will be created",
    IDENTICAL: "Already exists with exactly these settings (nothing to do)",
    CONFLICTS: "A metric with this name exists there with different settings (it won't be touched)",
    CANNOT: "Can't be copied",
}


@dataclass
class CopyRow:
    app_id: str
    client: upstream.Client | None = None
    status: str = CANNOT
    reason: str = ""
    result: str = ""
    succeeded: bool = False


def _unsupported(source: upstream.CustomMetric, metrics: dict[str, catalog.BaseMetric]) -> str:
    base = metrics.get(source.metric)
    if base is None:
        return f"This app doesn't offer the base metric {catalog.display_name(source.metric)}."
    group_by = [g for g in source.group_by if not base.allows_group_by(g)]
    if group_by:
        return f"It can't be grouped by {', '.join(catalog.key_label(g) for g in group_by)} there."
    try:
        errors = filter_tree.validate(filter_tree.from_json(source.filters or {}), base)
    except filter_tree.FilterError:
        errors = [None]
    if errors:
        return "Its filter uses keys or operators that app doesn't support."
    return ""


class CopyPlan:
    """Per target app, what copying ``source`` there would do; then, once confirmed, what it did."""

    def __init__(self, user, source: upstream.CustomMetric, targets: list) -> None:
        # Pre-flight: one look-up per app (and its parameters when the name is free); nothing is created.
        from metrics_ui.tokens import (
            access,  # access imports the models; this module stays importable without them
        )

        self.source = source
        self.body = source.definition()
        self.rows: list[CopyRow] = []
        for target in targets:
            row = CopyRow(target.app_id)
            self.rows.append(row)
            try:
                row.client = access.client_for(user, target.app_id)
                existing = row.client.find_metric(target.app_id, source.name)
                if existing is not None:
                    row.status = IDENTICAL if existing.same_definition(self.body) else CONFLICTS
                    continue
                problem = _unsupported(source, base_metrics(row.client, target.app_id)[0])
                row.status, row.reason = (CANNOT, problem) if problem else (WILL_CREATE, "")
            except upstream.Forbidden:
                row.reason = "Your token for this app was refused by Embrace."
            except (upstream.UpstreamError, access.TokenUnreadable) as error:
                row.reason = error.message
            except Http404:  # the token stopped managing the app between the two pages
                row.reason = "None of your tokens manages this app any more."

    @property
    def will_create(self) -> list[CopyRow]:
        return [r for r in self.rows if r.status == WILL_CREATE]

    def run(self, create) -> None:
        """Create in each app marked "will be created"; ``create(body, row)`` returns an Outcome."""
        for row in self.will_create:
            outcome = create(self.body, row)
            row.succeeded = outcome.succeeded
            if outcome.kind == create_guard.CREATED:
                row.result = "Created."
            elif outcome.kind == create_guard.EXISTED:
                row.result = "Already there with exactly these settings."
            elif outcome.kind == create_guard.CONFLICT:
                row.result = "Not created: a metric with this name and different settings appeared meanwhile."
            elif outcome.error is not None:
                row.result = f"Not created: {outcome.error.message}"
            else:
                row.result = "Not created."
