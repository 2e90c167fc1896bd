"""The builder's undo and redo: small inverse steps, kept in one signed hidden field of the form
(never in the session), so two tabs never interfere."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.core import signing

from metrics_ui import filter_tree
from metrics_ui.filter_tree import Condition, Group, Property, Range

HISTORY_DEPTH = 20  # undo steps kept
HISTORY_MAX_CHARS = 6000  # the signed field stays small; oldest steps go first
HISTORY_SALT = "metrics_ui.builder.history"


def pack(node: filter_tree.Node) -> list:
    if isinstance(node, Group):
        return [node.connector, [pack(c) for c in node.children]]
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
        return filter_tree.remove(tree, path), ["ins", list(path), pack(node)]
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
        return (restored if isinstance(restored, Group) else filter_tree.EMPTY), ["tree", pack(tree)]
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
