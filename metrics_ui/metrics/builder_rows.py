"""The builder as rows for the template (``open`` a group, a ``condition``, ``close``)."""

from __future__ import annotations

from functools import cached_property

from metrics_ui import catalog, filter_tree
from metrics_ui.filter_tree import Condition, Group, Property, Range
from metrics_ui.metrics import writes as create_guard
from metrics_ui.metrics.builder import Builder
from metrics_ui.metrics.form import MetricForm
from metrics_ui.metrics.preview import RequestPreview

_EDITORS = {"int": "number", "boolean": "yes_no", "range": "range", "property": "property"}


def _human(path: tuple[int, ...]) -> str:
    return ".".join(str(i + 1) for i in path)


class BuilderRows:
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
        # The linter waits until a person has finished what they just added (a new group holds one blank
        # condition: "holds only one item" would scold a step half taken).
        self.warnings = [
            w for w in filter_tree.lint(tree) if not any(filter_tree.unfinished(tree, p) for p in w.paths)
        ]
        self.history = builder.history.dump()
        self.can_undo = bool(builder.history.undo)
        self.can_redo = bool(builder.history.redo)
        self.max_conditions = filter_tree.MAX_CONDITIONS
        self.max_depth = filter_tree.MAX_DEPTH
        self.preview = RequestPreview(form, builder.tree, app_id, region)

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
            # A field left empty isn't wrong yet, only unfinished: it speaks up at Create.
            if not self.submitted and not filter_tree.field_text(node, error.field):
                continue
            errors.setdefault(error.path, []).append(error)
        return errors

    @cached_property
    def focus(self) -> str:
        """Where keyboard focus goes: the builder's choice, or at Create the first incomplete field."""
        if self.builder.focus or not self.submitted:
            return self.builder.focus
        first = next((e for path, found in self.errors.items() if path for e in found), None)
        if first is None:
            return ""
        part = first.field if first.field != "node" else "add"
        return f"f-{filter_tree.path_str(first.path)}-{part}"

    @property
    def known_lists(self) -> list[dict]:
        """The value vocabularies of the filters in use, one ``<datalist>`` each (only those: the
        country list alone would double the page)."""
        if self.metric is None:
            return []
        used = {c.key for _, c in filter_tree.conditions(self.builder.tree)}
        lists = [
            {"id": f"known-{key}", "options": known}
            for key in sorted(used)
            if (known := catalog.known_values(self.metric.metric, key))
        ]
        if "status_code" in used:
            ranges = catalog.STATUS_RANGES
            lists.append({"id": "known-status-start", "options": [(a, w) for a, _, w in ranges]})
            lists.append({"id": "known-status-end", "options": [(b, w) for _, b, w in ranges]})
        return lists

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
        known = catalog.known_values(self.metric.metric, node.key) if self.metric and node.key else ()
        return {
            "key": node.key,
            "op": node.op,
            "key_groups": [(label, options) for label, options in key_groups if options],
            "ops": [(o, catalog.OPERATOR_LABELS.get(o, o)) for o in ops],
            "editor": editor,
            "text": value if isinstance(value, str) else "",
            "start": value.start if isinstance(value, Range) else "",
            "end": value.end if isinstance(value, Range) else "",
            "pkey": value.key if isinstance(value, Property) else "",
            "values": value.values if isinstance(value, Property) else "",
            # What a list editor understood, shown back as separate items.
            "chips": filter_tree.split_values(value.values if isinstance(value, Property) else value)
            if editor in ("list", "property") and isinstance(value, (str, Property))
            else [],
            "known": f"known-{node.key}" if known else "",
            "known_hint": ", ".join(v for v, _ in known[:8]) if 0 < len(known) <= 12 else "",
            "field_errors": fields,
            # Without JavaScript the page reloads: autofocus keeps the person's place.
            "autofocus": self.focus.removeprefix(f"f-{filter_tree.path_str(path)}-") if self.focus else "",
            "words": filter_tree.condition_sentence(node, self.metric),
        }

    def apply_outcome(self, outcome: create_guard.Outcome) -> None:
        """Tell the form what an unsuccessful create amounted to (called by the view)."""
        form = self.form
        if outcome.kind == create_guard.CONFLICT and outcome.metric is not None:
            form.add_conflict(outcome.metric, self.app_id)
        elif outcome.kind == create_guard.FAILED and outcome.error is not None:
            form.add_upstream_error(outcome.error, self.app_id)
