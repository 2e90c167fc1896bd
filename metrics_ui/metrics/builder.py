"""The filter-tree builder: the tree being edited and the steps a person takes on it (add, remove,
move, undo …). Everything lives in the posted form, never in the session: the tree in the
``filter-…`` fields (see ``filter_tree``), the undo/redo stacks in one signed hidden field
(``history``), and the base metric the tree was built for (``built_for``), so two tabs never
interfere and any failure can re-render the form exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metrics_ui import bounded_json, catalog, filter_tree
from metrics_ui.filter_tree import Group
from metrics_ui.metrics.history import History, pack
from metrics_ui.metrics.json_import import merge_import

PREFIX = "filter"


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

    def step(self, data, metrics: dict[str, catalog.BaseMetric]):
        """One post of the create form. Conditions the newly chosen base metric doesn't allow go first;
        then the builder action (``action``, unless it is "create") runs. Returns the posted data,
        with the fields of a pasted request body put in."""
        if data.get("built_for", "") != data.get("metric", ""):
            self.drop_inapplicable()
        action = data.get("action", "create")
        if action == "create":
            return data
        self.apply(action, data)
        if self.imported:
            data = merge_import(data, self.imported)
            self.metric = metrics.get(data.get("metric", ""))
            self.drop_inapplicable()
        return data

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
            self.history.record(self.inverse or ["tree", pack(before)])

    def _run(self, verb: str, arg: str, data) -> Group:
        whole = _TREE_STEPS.get(verb)
        if whole is not None:
            return whole(self, arg, data)
        path_text, _, extra = arg.partition(":")
        path = filter_tree.parse_path(path_text)
        node_step = _NODE_STEPS.get(verb)
        if path is None or node_step is None:
            return self.tree  # "refresh", "keep" and unknown verbs just re-render what was posted
        return node_step(self, path, extra, data)

    # --- steps on the whole tree: (arg, data) -> tree ---

    def _undo(self, arg: str, data) -> Group:
        return self.history.step(self.tree, back=True)

    def _redo(self, arg: str, data) -> Group:
        return self.history.step(self.tree, back=False)

    def _fix(self, arg: str, data) -> Group:
        return filter_tree.apply_fix(self.tree, arg)

    def _import_json(self, arg: str, data) -> Group:
        return self._import(data.get("json_import", ""))

    # --- steps on one node: (path, extra, data) -> tree ---

    def _add(self, path: tuple[int, ...], add, focus_first_child: bool) -> Group:
        tree = add(self.tree, path)
        group = filter_tree.get(tree, path)
        if isinstance(group, Group) and group.children:
            self.added = (*path, len(group.children) - 1)
            # Focus goes to the new condition's key picker (a new group's first condition).
            self.focus = dom_id((*self.added, 0) if focus_first_child else self.added, "key")
            self.inverse = ["rm", list(self.added)]
        return tree

    def _add_condition(self, path: tuple[int, ...], extra: str, data) -> Group:
        return self._add(path, filter_tree.add_condition, focus_first_child=False)

    def _add_group(self, path: tuple[int, ...], extra: str, data) -> Group:
        return self._add(path, filter_tree.add_group, focus_first_child=True)

    def _clone(self, path: tuple[int, ...], extra: str, data) -> Group:
        if not path:
            return self.tree
        copy = (*path[:-1], path[-1] + 1)
        self.focus = dom_id(copy, "clone")
        self.inverse = ["rm", list(copy)]
        return filter_tree.clone(self.tree, path)

    def _move(self, path: tuple[int, ...], delta: int, verb: str) -> Group:
        if not path:
            return self.tree
        moved = filter_tree.move(self.tree, path, delta)
        if moved != self.tree:
            now = filter_tree.moved_path(path, delta)
            siblings = filter_tree.get(moved, now[:-1])
            # At either end the button just pressed is disabled: focus its twin rather than lose it.
            at_end = now[-1] == 0 if delta < 0 else now[-1] == len(siblings.children) - 1
            self.focus = dom_id(now, {"up": "down", "down": "up"}[verb] if at_end else verb)
            self.inverse = ["mv", list(now), -delta]
        return moved

    def _up(self, path: tuple[int, ...], extra: str, data) -> Group:
        return self._move(path, -1, "up")

    def _down(self, path: tuple[int, ...], extra: str, data) -> Group:
        return self._move(path, 1, "down")

    def _connector(self, path: tuple[int, ...], extra: str, data) -> Group:
        node = filter_tree.get(self.tree, path)
        if isinstance(node, Group):
            self.inverse = ["cn", list(path), node.connector]
            self.focus = dom_id(path, "connector")
        return filter_tree.set_connector(self.tree, path, extra)

    def _confirm_remove(self, path: tuple[int, ...], extra: str, data) -> Group:
        node = filter_tree.get(self.tree, path)
        if not path or node is None:
            return self.tree
        self.focus = dom_id(path[:-1], "add")
        self.inverse = ["ins", list(path), pack(node)]
        return filter_tree.remove(self.tree, path)

    def _remove(self, path: tuple[int, ...], extra: str, data) -> Group:
        node = filter_tree.get(self.tree, path)
        # A group that holds conditions asks first. HTMX asked already (hx-confirm on the button).
        if isinstance(node, Group) and node.children and not data.get("_confirmed"):
            self.confirm_path = path
            self.focus = dom_id(path, "confirm")
            return self.tree
        if path and node is not None:
            self.focus = dom_id(path[:-1], "add")
            self.inverse = ["ins", list(path), pack(node)]
        return filter_tree.remove(self.tree, path)

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
            self.history.record(["tree", pack(self.tree)])
            self.tree = tree
            described = ", ".join(f"“{filter_tree.condition_sentence(c)}”" for _, c in dropped)
            self.notices.append(
                f"{self.metric.display_name} can't be filtered that way, so these conditions were removed: "
                f"{described}. Undo brings them back."
            )


_TREE_STEPS = {
    "undo": Builder._undo,
    "redo": Builder._redo,
    "fix": Builder._fix,
    "import_json": Builder._import_json,
}
_NODE_STEPS = {
    "add_condition": Builder._add_condition,
    "add_group": Builder._add_group,
    "clone": Builder._clone,
    "up": Builder._up,
    "down": Builder._down,
    "connector": Builder._connector,
    "confirm_remove": Builder._confirm_remove,
    "remove": Builder._remove,
}


def dom_id(path: tuple[int, ...], part: str) -> str:
    """The DOM id of one control of a node (``f-0.1-key``); used for focus and aria-describedby."""
    return f"f-{filter_tree.path_str(path)}-{part}"
