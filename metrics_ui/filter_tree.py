"""The filter tree as a value: what a custom metric counts, as frozen dataclasses.

Modelled on Django's ``django.utils.tree.Node``: a :class:`Group` has a connector (``"and"`` /
``"or"``) and children; a :class:`Condition` is a leaf (key, operator, value). The root is always a
``Group``; an empty root means "no filter" (the API's ``{}``). Nodes are immutable, so every builder
operation returns a new tree.

Owned here (and nowhere else): JSON ↔ tree, form data ↔ tree, validation against a
:class:`catalog.BaseMetric`, the plain-language sentence, the builder operations and the linter.

**Values keep what the user typed.** A condition's value is always *text as typed* (the form's
regime), whatever the key's type; the API's typed value exists only in JSON:

============  ============================================  =====================================
key type      ``Condition.value``                           API ``val``
============  ============================================  =====================================
string        ``str``                                       ``"1.2"``
int           ``str`` (``"14"``; ``"abc"`` survives)        ``14``
boolean       ``str``: ``"yes"`` / ``"no"``                 ``true`` / ``false``
range         ``Range(start="400", end="499")``             ``{"start": 400, "end": 499}``
property      ``Property(key="plan", values="free\\npro")``  ``{"property_key": "plan",
                                                            "property_values": ["free", "pro"]}``
op ``in``     ``str``, **one value per line**               a list of values of the key's type
============  ============================================  =====================================

Lists (``in`` and property values) are typed the way people write lists: values separated by new
lines or commas, a value that contains a comma (or starts with a double quote) written in double
quotes (``"Paris, TX"``), each line read by Python's ``csv`` module. Surrounding spaces are trimmed
and empty entries dropped (:func:`split_values`); :func:`join_values` writes a list back, one value
per line, quoted only where needed, so the two round-trip. ``to_json`` converts text to typed
values (it needs the key's type: from ``base_metric`` when given, else the built-in catalog);
``from_json`` writes typed values back as canonical text (``14`` → ``"14"``, ``true`` → ``"yes"``,
lists written by ``join_values``).

Guarantees: ``from_form(to_form(t)) == t`` for every tree; ``from_json(to_json(t)) == t`` for every
valid tree in canonical text (any tree that came from ``from_json``; an empty root is ``"and"``);
``to_json(from_json(j)) == j`` for valid API JSON (a bare leaf at the top comes back wrapped in an
``"and"`` group, and ``{"op": …, "children": []}`` at the top comes back as ``{}``).

Paths: a node is addressed by the tuple of child indexes from the root (``()`` is the root). In form
field names the path is written ``"0"`` for the root and ``"0.2.1"`` for ``(2, 1)``
(:func:`path_str` / :func:`parse_path`). Form fields, for ``prefix="filter"``::

    filter-0-node=group      filter-0-connector=and          (root group)
    filter-0.0-node=condition filter-0.0-key=os_version filter-0.0-op=eq filter-0.0-value=12
    filter-0.1-start=400 filter-0.1-end=499                   (Range values)
    filter-0.2-pkey=plan filter-0.2-value=free\\npro           (Property values)

``from_form`` never raises: unknown fields are ignored, missing ones read as empty, children are
ordered by index (gaps closed), and anything past ``FORM_MAX_DEPTH`` / ``FORM_MAX_NODES`` /
``FORM_MAX_VALUE_LENGTH`` is dropped (these caps are far above what the builder lets a person
make; :func:`validate` flags the real limits ``MAX_DEPTH`` and ``MAX_CONDITIONS``).

Semantics of an empty group (used by the linter and the sentence): like Django's empty ``Q()``, it
constrains nothing and is ignored by its parent; an empty root matches every event.

Builder operations take a tree and a path and return a new tree. A path that doesn't address a
suitable node (stale or forged form data) is a no-op; going past a limit raises :class:`FilterError`
with a message for the person.

Public API (everything else is private):

- values: ``Condition``, ``Group``, ``Range``, ``Property``, ``Node``, ``Value``, ``Path``, ``EMPTY``,
  ``FilterError`` (``.message``, ``.path``), ``NodeError`` (``path``, ``field``, ``message``),
  ``LintWarning`` (``code``, ``paths``, ``message``, ``fix_label``, ``id``); limits ``MAX_*``.
- reading a tree: ``path_str``, ``parse_path``, ``get``, ``walk``, ``conditions``, ``depth``,
  ``field_text``, ``unfinished``,
  ``key_type``, ``split_values``, ``join_values``.
- conversions: ``from_json``, ``to_json(tree, base_metric=None)``, ``api_value``,
  ``from_form(data, prefix="filter")``, ``to_form(tree, prefix="filter")``, ``field_name``.
- checks and words: ``validate(tree, base_metric)``, ``sentence(tree, base_metric=None)``,
  ``condition_sentence``, ``lint(tree)``, ``apply_fix(tree, warning_or_id)``.
- builder: ``add_condition``, ``add_group``, ``remove``, ``clear``, ``clone``, ``move`` (+
  ``moved_path``), ``set_connector``, ``set_node``, ``conform``, ``drop_inapplicable``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from metrics_ui import bounded_json, catalog

MAX_DEPTH = 4  # levels of groups, the root included
MAX_CONDITIONS = 50
MAX_LIST_VALUES = 100  # values of one ``in`` list or property
MAX_VALUE_LENGTH = 500  # characters of one value
MAX_JSON_LENGTH = 200_000  # characters of pasted JSON

FORM_MAX_DEPTH = 8
FORM_MAX_NODES = 400
FORM_MAX_VALUE_LENGTH = 20_000

CONNECTORS: tuple[str, ...] = ("and", "or")
CONNECTOR_LABELS = {"and": "all of", "or": "any of"}

Path = tuple[int, ...]
Connector = Literal["and", "or"]


class FilterError(ValueError):
    """A filter that can't be read or a builder step past a limit. ``message`` is for a person."""

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True)
class Range:
    """The value of a ``range`` key, as typed: two texts."""

    start: str = ""
    end: str = ""


@dataclass(frozen=True)
class Property:
    """The value of a ``property`` key, as typed: the property's key and its values, one per line."""

    key: str = ""
    values: str = ""


Value = str | Range | Property


@dataclass(frozen=True)
class Condition:
    """A leaf: ``key`` (a catalog filter name), ``op`` (a catalog operator), ``value`` (as typed)."""

    key: str = ""
    op: str = ""
    value: Value = ""


@dataclass(frozen=True)
class Group:
    """An inner node: ``connector`` ``"and"`` (all of) or ``"or"`` (any of) over ``children``."""

    connector: str = "and"
    children: tuple[Node, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.children)

    def __len__(self) -> int:
        return len(self.children)


Node = Condition | Group
EMPTY = Group()


@dataclass(frozen=True)
class NodeError:
    """A validation failure on one node: ``field`` is the form field it concerns."""

    path: Path
    field: str  # "key", "op", "value", "start", "end", "pkey", "connector" or "node"
    message: str


@dataclass(frozen=True)
class LintWarning:
    """Something legal but probably unintended, with a one-click fix (:func:`apply_fix`).

    ``paths[0]`` is the node the fix changes. ``id`` is stable for a given tree, so a form can
    post it back (``apply_fix(tree, "duplicate:0.1:0.3")``).
    """

    code: str  # "contradiction", "duplicate", "empty-group", "single-child"
    paths: tuple[Path, ...]
    message: str
    fix_label: str

    @property
    def id(self) -> str:
        return ":".join((self.code, *(path_str(p) for p in self.paths)))


# --- paths and traversal ---------------------------------------------------------------------

_PATH_RE = re.compile(r"0(?:\.(?:0|[1-9][0-9]{0,3}))*")


def path_str(path: Path) -> str:
    """``()`` → ``"0"``, ``(2, 1)`` → ``"0.2.1"`` (form field names, DOM ids)."""
    return ".".join(["0", *map(str, path)])


def parse_path(text: str) -> Path | None:
    """The inverse of :func:`path_str`; ``None`` for anything else."""
    if not isinstance(text, str) or len(text) > 5 * FORM_MAX_DEPTH + 1 or not _PATH_RE.fullmatch(text):
        return None
    return tuple(int(part) for part in text.split(".")[1:])


def get(tree: Group, path: Path) -> Node | None:
    """The node at ``path``, or ``None`` when there is none."""
    node: Node = tree
    for index in path:
        if not isinstance(node, Group) or not 0 <= index < len(node.children):
            return None
        node = node.children[index]
    return node


def walk(tree: Node, path: Path = ()) -> Iterator[tuple[Path, Node]]:
    """Every node with its path, parents before children, in reading order."""
    yield path, tree
    if isinstance(tree, Group):
        for index, child in enumerate(tree.children):
            yield from walk(child, (*path, index))


def conditions(tree: Group) -> list[tuple[Path, Condition]]:
    return [(p, n) for p, n in walk(tree) if isinstance(n, Condition)]


def depth(tree: Node) -> int:
    """Levels of groups: a lone condition is 0, an empty root 1."""
    if isinstance(tree, Condition):
        return 0
    return 1 + max((depth(c) for c in tree.children), default=0)


# --- key types ---------------------------------------------------------------------------------

# Every key has the same type in every base metric of the built-in catalog, so a tree can be
# read and written without knowing its metric; a metric from the upstream overrides this.
_CATALOG_TYPES: dict[str, str] = {f.name: f.type for m in catalog.BASE_METRICS for f in m.filters}


def key_type(key: str, base_metric: catalog.BaseMetric | None = None) -> str:
    """The value type of ``key``: the metric's when given and known, else the catalog's, else string."""
    spec = base_metric.filter(key) if base_metric is not None else None
    if spec is not None:
        return spec.type
    return _CATALOG_TYPES.get(key, "string")


def field_text(node: Node | None, field: str) -> str:
    """What the person has put in one field of a node ("" when still empty)."""
    if not isinstance(node, Condition):
        return ""
    value = node.value
    texts = {"key": node.key, "op": node.op}
    if isinstance(value, Range):
        texts |= {"start": value.start, "end": value.end, "value": value.start + value.end}
    elif isinstance(value, Property):
        texts |= {"pkey": value.key, "value": value.values}
    else:
        texts["value"] = value
    return texts.get(field, "").strip()


def unfinished(tree: Group, path: Path) -> bool:
    """Whether the node at ``path`` still holds a condition not filled in (filter or value empty)."""
    node = get(tree, path)
    found = [node] if isinstance(node, Condition) else [c for _, c in conditions(node or Group())]
    return any(not c.key or not field_text(c, "value") for c in found)


def split_values(text: str) -> list[str]:
    """The values of a list as typed: separated by new lines or commas, ``"double quoted"`` when a
    value holds a comma; each trimmed, empty ones dropped. ``"GET, POST"`` → ``["GET", "POST"]``."""
    values: list[str] = []
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        values.extend(cell.strip() for cell in row if cell.strip())
    return values


def join_values(values: Iterable[str]) -> str:
    """A list as the form shows it: one value per line, quoted only when ``split_values`` needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for value in values:
        writer.writerow([value])
    return buffer.getvalue().rstrip("\n")


_YES = ("yes", "true")
_NO = ("no", "false")


def _parse_int(text: str) -> int | None:
    text = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
        return None
    return int(text)


def _parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    return True if lowered in _YES else False if lowered in _NO else None


# --- JSON ----------------------------------------------------------------------------------------

_JSON_MESSAGES = {
    "Expecting value": "a value is missing or isn't valid JSON (text needs double quotes)",
    "Expecting ',' delimiter": "a comma is missing between two items",
    "Expecting ':' delimiter": "a colon is missing after a name",
    "Expecting property name enclosed in double quotes": (
        "a name must be in double quotes (or there is a comma too many)"
    ),
    "Extra data": "there is more text after the end of the filter",
    "Unterminated string starting at": "a text value has no closing double quote",
    "Invalid control character at": "a text value contains a line break or tab; write it as \\n or \\t",
    "Invalid \\escape": "a backslash starts an unknown escape",
}


def _where(path: tuple[str | int, ...]) -> str:
    """A JSON location in words: ``("children", 1, "val")`` → "“children” → item 2 → “val”"."""
    if not path:
        return "the top"
    return " → ".join(f"item {step + 1}" if isinstance(step, int) else f"“{step}”" for step in path)


class _ShapeError(Exception):
    def __init__(self, where: tuple[str | int, ...], problem: str):
        self.where, self.problem = where, problem


def _shape_error(where: tuple[str | int, ...], problem: str) -> _ShapeError:
    return _ShapeError(where, problem)


_SPACE = re.compile(r"\s*")


def _line_of(text: str, where: tuple[str | int, ...]) -> int | None:
    """The line of ``text`` where the value at ``where`` starts (``None`` if it can't be found)."""
    decoder = json.JSONDecoder()
    try:
        pos = _SPACE.match(text, 0).end()
        for step in where:
            opening, closing = ("{", "}") if isinstance(step, str) else ("[", "]")
            if text[pos] != opening:
                return None
            pos = _SPACE.match(text, pos + 1).end()
            index = 0
            while text[pos] != closing:
                found = False
                if isinstance(step, str):
                    key, pos = json.decoder.scanstring(text, pos + 1)
                    pos = _SPACE.match(text, _SPACE.match(text, pos).end() + 1).end()  # past ":"
                    found = key == step
                else:
                    found = index == step
                if found:
                    break
                pos = _SPACE.match(text, decoder.raw_decode(text, pos)[1]).end()
                if text[pos] == ",":
                    pos = _SPACE.match(text, pos + 1).end()
                index += 1
            else:
                return None
        return text.count("\n", 0, pos) + 1
    except (ValueError, IndexError):
        return None


def from_json(data: str | bytes | Mapping | None) -> Group:
    """Read the API's filter JSON (text or already parsed) into a tree.

    ``{}``, ``None`` and blank text give the empty tree. A bare condition at the top is wrapped in
    an ``"and"`` group. Raises :class:`FilterError` whose message starts "This isn't valid JSON:"
    (with line and column) or "The JSON is valid but isn't a filter:" (with the line, when the
    input was text, and where in words: "line 3, at “children”: expected a list …").
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise FilterError("This isn't valid JSON: it contains characters that aren't text.") from None
    if data is None or (isinstance(data, str) and not data.strip()):
        return EMPTY
    text = data if isinstance(data, str) else None
    if isinstance(data, str):
        if len(data) > MAX_JSON_LENGTH:
            raise FilterError(f"This is too long to be a filter (more than {MAX_JSON_LENGTH:,} characters).")
        try:
            data = bounded_json.loads(data)
        except bounded_json.Refused as error:
            raise FilterError(error.message) from None
        except json.JSONDecodeError as exc:
            what = next((v for k, v in _JSON_MESSAGES.items() if exc.msg.startswith(k)), exc.msg)
            raise FilterError(
                f"This isn't valid JSON: line {exc.lineno}, column {exc.colno}: {what}."
            ) from None
    try:
        if not isinstance(data, Mapping):
            raise _shape_error((), "a filter must be an object in curly braces { }")
        if not data:
            return EMPTY
        root = _node_from_json(data, (), 1)
    except _ShapeError as error:
        line = _line_of(text, error.where) if text is not None else None
        where = f"line {line}, at {_where(error.where)}" if line else f"at {_where(error.where)}"
        raise FilterError(f"The JSON is valid but isn't a filter: {where}: {error.problem}.") from None
    return root if isinstance(root, Group) else Group("and", (root,))


def _node_from_json(data: object, where: tuple[str | int, ...], level: int) -> Node:
    if not isinstance(data, Mapping):
        raise _shape_error(where, "expected a condition or a group in curly braces { }")
    if level > FORM_MAX_DEPTH:
        raise _shape_error(where, f"groups are nested more than {FORM_MAX_DEPTH} levels deep")
    if "children" in data or "op" in data:
        extra = set(data) - {"op", "children"}
        if extra:
            raise _shape_error(where, f"a group has only “op” and “children”, not “{sorted(extra)[0]}”")
        op = data.get("op")
        if op not in CONNECTORS:
            raise _shape_error((*where, "op"), 'a group\'s “op” must be "and" or "or"')
        children = data.get("children")
        if not isinstance(children, list):
            raise _shape_error((*where, "children"), "expected a list of conditions in [ ] after “children”")
        if len(children) > FORM_MAX_NODES:
            raise _shape_error((*where, "children"), f"a group has more than {FORM_MAX_NODES} items")
        return Group(
            op,
            tuple(_node_from_json(c, (*where, "children", i), level + 1) for i, c in enumerate(children)),
        )
    for name in ("field_op", "key", "val"):
        if name not in data:
            raise _shape_error(where, f"a condition needs “field_op”, “key” and “val”; “{name}” is missing")
    extra = set(data) - {"field_op", "key", "val"}
    if extra:
        raise _shape_error(
            where, f"a condition has only “field_op”, “key” and “val”, not “{sorted(extra)[0]}”"
        )
    for name in ("field_op", "key"):
        if not isinstance(data[name], str):
            raise _shape_error((*where, name), f"“{name}” must be text in double quotes")
    return Condition(data["key"], data["field_op"], _value_from_json(data["val"], (*where, "val")))


def _scalar_text(value: object, where: tuple[str | int, ...]) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)  # kept so validation can say "needs a whole number"
    raise _shape_error(where, "expected text, a number, true or false")


def _list_text(values: object, where: tuple[str | int, ...]) -> str:
    if not isinstance(values, list):
        raise _shape_error(where, "expected a list of values in [ ]")
    lines = []
    for index, value in enumerate(values):
        text = _scalar_text(value, (*where, index))
        # A list value must survive being typed into the form: on one line, no surrounding spaces.
        if not text.strip() or text != text.strip() or "\n" in text or "\r" in text:
            raise _shape_error(
                (*where, index),
                "list values can't be empty, start or end with spaces, or contain line breaks",
            )
        lines.append(text)
    return join_values(lines)


def _value_from_json(val: object, where: tuple[str | int, ...]) -> Value:
    if isinstance(val, list):
        return _list_text(val, where)
    if isinstance(val, Mapping):
        if set(val) == {"start", "end"}:
            return Range(
                _scalar_text(val["start"], (*where, "start")), _scalar_text(val["end"], (*where, "end"))
            )
        if set(val) == {"property_key", "property_values"}:
            key = val["property_key"]
            if not isinstance(key, str):
                raise _shape_error((*where, "property_key"), "“property_key” must be text in double quotes")
            return Property(key, _list_text(val["property_values"], (*where, "property_values")))
        raise _shape_error(
            where,
            "a value in { } must be a range with “start” and “end”, "
            "or a property with “property_key” and “property_values”",
        )
    return _scalar_text(val, where)


def to_json(tree: Group, base_metric: catalog.BaseMetric | None = None) -> dict:
    """The API's filter JSON for ``tree``: ``{}`` when empty. Call it on trees that validate.

    Types come from ``base_metric`` when given, else from the built-in catalog. Raises
    :class:`FilterError` (with the path) for a value that can't be converted.
    """
    if not tree.children:
        return {}
    return _node_to_json(tree, (), base_metric)


def _node_to_json(node: Node, path: Path, base_metric: catalog.BaseMetric | None) -> dict:
    if isinstance(node, Group):
        return {
            "op": node.connector,
            "children": [_node_to_json(c, (*path, i), base_metric) for i, c in enumerate(node.children)],
        }
    return {"field_op": node.op, "key": node.key, "val": api_value(node, base_metric, path)}


def api_value(condition: Condition, base_metric: catalog.BaseMetric | None = None, path: Path = ()) -> object:
    """The typed ``val`` the API expects for ``condition`` (raises :class:`FilterError`)."""
    type_ = key_type(condition.key, base_metric)
    value = condition.value
    if type_ == "range" or isinstance(value, Range):
        if not isinstance(value, Range):
            raise FilterError("This condition needs a start and an end.", path)
        start, end = _parse_int(value.start), _parse_int(value.end)
        if start is None or end is None:
            raise FilterError("A range needs whole numbers for its start and end.", path)
        return {"start": start, "end": end}
    if type_ == "property" or isinstance(value, Property):
        if not isinstance(value, Property):
            raise FilterError("This condition needs a property name and values.", path)
        return {"property_key": value.key, "property_values": split_values(value.values)}
    if condition.op == "in":
        return [_typed_scalar(type_, v, path) for v in split_values(value)]
    return _typed_scalar(type_, value, path)


def _typed_scalar(type_: str, text: str, path: Path) -> str | int | bool:
    if type_ == "int":
        number = _parse_int(text)
        if number is None:
            raise FilterError(f"“{text}” isn't a whole number.", path)
        return number
    if type_ == "boolean":
        flag = _parse_bool(text)
        if flag is None:
            raise FilterError(f"“{text}” isn't yes or no.", path)
        return flag
    return text


# --- form data -----------------------------------------------------------------------------------

FORM_FIELDS: tuple[str, ...] = ("node", "connector", "key", "op", "value", "start", "end", "pkey")


def field_name(prefix: str, path: Path, field: str) -> str:
    """The form field of ``field`` on the node at ``path``: ``filter-0.1-key``."""
    return f"{prefix}-{path_str(path)}-{field}"


def to_form(tree: Group, prefix: str = "filter") -> dict[str, str]:
    """Flat form data for ``tree`` (see the module docstring for the field names)."""
    data: dict[str, str] = {}
    for path, node in walk(tree):
        if isinstance(node, Group):
            data[field_name(prefix, path, "node")] = "group"
            data[field_name(prefix, path, "connector")] = node.connector
            continue
        data[field_name(prefix, path, "node")] = "condition"
        data[field_name(prefix, path, "key")] = node.key
        data[field_name(prefix, path, "op")] = node.op
        if isinstance(node.value, Range):
            data[field_name(prefix, path, "start")] = node.value.start
            data[field_name(prefix, path, "end")] = node.value.end
        elif isinstance(node.value, Property):
            data[field_name(prefix, path, "pkey")] = node.value.key
            data[field_name(prefix, path, "value")] = node.value.values
        else:
            data[field_name(prefix, path, "value")] = node.value
    return data


def _text(raw: object) -> str | None:
    """One posted value as text: the last of a list (as ``QueryDict`` does), capped."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    if not isinstance(raw, str):
        return None
    return raw[:FORM_MAX_VALUE_LENGTH]


def from_form(data: Mapping[str, str | list[str]], prefix: str = "filter") -> Group:
    """The tree in posted form data. Never raises; see the module docstring for what is dropped.

    A node is the set of fields sharing a path. Its kind is its ``-node`` field; without one, a
    node with a ``-connector`` is a group and any other a condition. A condition's value is a
    ``Range`` when ``-start`` or ``-end`` was posted, a ``Property`` when ``-pkey`` was, else text.
    """
    fields: dict[Path, dict[str, str]] = {}
    head = f"{prefix}-"
    try:
        items = list(data.items()) if hasattr(data, "items") else []
    except Exception:  # a hostile Mapping; form data from Django never gets here
        return EMPTY
    for name, raw in items[: FORM_MAX_NODES * len(FORM_FIELDS) * 4]:
        if not isinstance(name, str) or not name.startswith(head):
            continue
        path_text, dash, field = name[len(head) :].rpartition("-")
        path = parse_path(path_text) if dash else None
        if path is None or field not in FORM_FIELDS or len(path) > FORM_MAX_DEPTH:
            continue
        text = _text(raw)
        if text is None:
            continue
        if path not in fields and len(fields) >= FORM_MAX_NODES:
            continue
        fields.setdefault(path, {})[field] = text
    budget = [FORM_MAX_NODES]
    root = _node_from_form((), fields, _children_index(fields), budget)
    if isinstance(root, Group):
        return root
    return EMPTY if root is None else Group("and", (root,))


def _children_index(fields: Mapping[Path, dict[str, str]]) -> dict[Path, list[int]]:
    """Child indexes under each path, from every posted path (so a missing ``-node`` still counts)."""
    index: dict[Path, set[int]] = {}
    for path in fields:
        for cut in range(len(path)):
            index.setdefault(path[:cut], set()).add(path[cut])
    return {parent: sorted(children) for parent, children in index.items()}


def _node_from_form(
    path: Path, fields: Mapping[Path, dict[str, str]], index: Mapping[Path, list[int]], budget: list[int]
) -> Node | None:
    if budget[0] <= 0:
        return None
    budget[0] -= 1
    own = fields.get(path, {})
    kind = own.get("node")
    if kind not in ("group", "condition"):
        kind = "group" if "connector" in own or path in index or path == () else "condition"
    if kind == "group":
        connector = own.get("connector", "and")
        children = []
        for child_index in index.get(path, []):
            child = _node_from_form((*path, child_index), fields, index, budget)
            if child is not None:
                children.append(child)
        return Group(connector, tuple(children))
    value: Value
    if "start" in own or "end" in own:
        value = Range(own.get("start", ""), own.get("end", ""))
    elif "pkey" in own:
        value = Property(own.get("pkey", ""), own.get("value", ""))
    else:
        value = own.get("value", "")
    return Condition(own.get("key", ""), own.get("op", ""), value)


# --- validation ----------------------------------------------------------------------------------


def validate(tree: Group, base_metric: catalog.BaseMetric) -> list[NodeError]:
    """Every problem that stops ``tree`` from being sent for ``base_metric``, in reading order.

    An empty list means :func:`to_json` will succeed and the request passes the API's rules as the
    catalog and the sandbox state them (limits here are at or below the sandbox's). Messages name
    the key in words and say what would be right.
    """
    errors: list[NodeError] = []
    count = 0
    for path, node in walk(tree):
        if isinstance(node, Group):
            if node.connector not in CONNECTORS:
                errors.append(NodeError(path, "connector", "Choose “all of” or “any of” for this group."))
            if path and not node.children:
                errors.append(
                    NodeError(path, "node", "This group is empty: add a condition to it or remove it.")
                )
            if len(path) + 1 > MAX_DEPTH:
                message = f"Groups can be nested at most {MAX_DEPTH} levels deep, the outermost included."
                errors.append(NodeError(path, "node", message))
            continue
        count += 1
        errors.extend(_condition_errors(path, node, base_metric))
    if count > MAX_CONDITIONS:
        message = f"A filter can have at most {MAX_CONDITIONS} conditions; this one has {count}."
        errors.insert(0, NodeError((), "node", message))
    return errors


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _condition_errors(path: Path, node: Condition, base_metric: catalog.BaseMetric) -> list[NodeError]:
    if not node.key:
        return [NodeError(path, "key", "Choose what this condition filters on.")]
    spec = base_metric.filter(node.key)
    label = catalog.key_label(node.key)
    if spec is None:
        return [NodeError(path, "key", f"“{label}” can't be used to filter {base_metric.display_name}.")]
    if not node.op:
        return [NodeError(path, "op", f"Choose how to compare {label}.")]
    if node.op not in spec.supported_ops:
        allowed = ", ".join(f"“{catalog.OPERATOR_LABELS.get(o, o)}”" for o in spec.supported_ops)
        shown = catalog.OPERATOR_LABELS.get(node.op, node.op)
        return [NodeError(path, "op", f"{_cap(label)} can't be compared with “{shown}”; use {allowed}.")]
    return _value_errors(path, node, spec.type, label)


def _value_errors(path: Path, node: Condition, type_: str, label: str) -> list[NodeError]:
    value = node.value
    if type_ == "range":
        if not isinstance(value, Range):
            return [NodeError(path, "value", f"{_cap(label)} needs a start and an end.")]
        errors = []
        start, end = _parse_int(value.start), _parse_int(value.end)
        if start is None:
            errors.append(NodeError(path, "start", f"The start of {label} needs a whole number, like 400."))
        if end is None:
            errors.append(NodeError(path, "end", f"The end of {label} needs a whole number, like 499."))
        if start is not None and end is not None and start > end:
            errors.append(NodeError(path, "end", f"The end of {label} can't be smaller than its start."))
        return errors
    if type_ == "property":
        if not isinstance(value, Property):
            return [NodeError(path, "value", f"{_cap(label)} needs a property name and at least one value.")]
        errors = []
        if not value.key.strip():
            errors.append(NodeError(path, "pkey", f"Enter the name of the {label}, like “plan”."))
        else:
            problem = _text_problem(value.key, "The name")
            if problem:
                errors.append(NodeError(path, "pkey", problem))
        errors.extend(_list_errors(path, value.values, "string", label))
        return errors
    if not isinstance(value, str):
        return [NodeError(path, "value", f"{_cap(label)} needs a single value.")]
    if node.op == "in":
        return _list_errors(path, value, type_, label)
    message = _scalar_problem(value, type_, label)
    return [NodeError(path, "value", message)] if message else []


def _list_errors(path: Path, text: str, type_: str, label: str) -> list[NodeError]:
    values = split_values(text)
    if not values:
        return [
            NodeError(
                path, "value", f"Enter at least one value for {label}, separated by commas or new lines."
            )
        ]
    if len(values) > MAX_LIST_VALUES:
        message = (
            f"A list can have at most {MAX_LIST_VALUES} values; this one has {len(values)}. "
            "Split it into two conditions joined by “any of”."
        )
        return [NodeError(path, "value", message)]
    seen: set[object] = set()
    for number, value in enumerate(values, 1):
        message = _scalar_problem(value, type_, label)
        if message:
            return [NodeError(path, "value", f"Value {number} (“{value}”): {message}")]
        meaning = _parse_int(value) if type_ == "int" else value
        if meaning in seen:  # the upstream refuses a value listed twice
            return [NodeError(path, "value", f"Value {number}: “{value}” is already in the list.")]
        seen.add(meaning)
    return []


def _scalar_problem(text: str, type_: str, label: str) -> str | None:
    if type_ == "int":
        return None if _parse_int(text) is not None else f"{_cap(label)} needs a whole number, like 14."
    if type_ == "boolean":
        return None if _parse_bool(text) is not None else f"Choose yes or no for {label}."
    if not text.strip():
        return f"Enter a value for {label}."
    return _text_problem(text, "A value")


def _text_problem(text: str, what: str) -> str | None:
    if len(text) > MAX_VALUE_LENGTH:
        return f"{what} can have at most {MAX_VALUE_LENGTH} characters; this one has {len(text)}."
    # The upstream (and PostgreSQL's jsonb) refuse control characters and lone surrogates.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        return f"{what} can't contain line breaks, tabs or other invisible control characters."
    return None


# --- the sentence --------------------------------------------------------------------------------

NO_FILTER_SENTENCE = "every event (no filter)"
_NEGATED_LABELS = {"has_anr": "did not have an ANR", "is_handled": "is not handled"}
_BLANK = "…"


def sentence(tree: Group, base_metric: catalog.BaseMetric | None = None) -> str:
    """The filter in plain words: "OS version is 12 and (app version is 1.2 or app version is 1.3)".

    Groups are parenthesised only when their connector differs from their parent's; empty groups
    say nothing (they constrain nothing). Missing parts read as "…".
    """
    text, _ = _phrase(tree, base_metric)
    return text or NO_FILTER_SENTENCE


def _phrase(node: Node, base_metric: catalog.BaseMetric | None) -> tuple[str, str | None]:
    """The node's words and the connector binding them at the top (``None`` when atomic)."""
    if isinstance(node, Condition):
        return condition_sentence(node, base_metric), None
    parts = [p for p in (_phrase(c, base_metric) for c in node.children) if p[0]]
    if len(parts) == 1:
        return parts[0]
    connector = node.connector if node.connector in CONNECTORS else "and"
    words = [f"({text})" if inner not in (None, connector) else text for text, inner in parts]
    return f" {connector} ".join(words), connector if parts else None


def quoted_list(values: list[str]) -> str:
    """Values in words, each quoted so a comma inside one can't be misread: “GET” or “POST”."""
    shown = [f"“{v}”" for v in values]
    if len(shown) < 2:
        return shown[0] if shown else _BLANK
    return f"{', '.join(shown[:-1])} or {shown[-1]}"


def condition_sentence(condition: Condition, base_metric: catalog.BaseMetric | None = None) -> str:
    """One condition in words: "status code is between 400 and 499", "had an ANR"."""
    key, op, value = condition.key, condition.op, condition.value
    label = catalog.key_label(key) if key else _BLANK
    op_label = catalog.OPERATOR_LABELS.get(op, op) if op else _BLANK
    type_ = key_type(key, base_metric)
    if isinstance(value, Range):
        start, end = value.start.strip() or _BLANK, value.end.strip() or _BLANK
        if op in ("eq", "neq"):
            return f"{label} {'is' if op == 'eq' else 'is not'} between {start} and {end}"
        return f"{label} {op_label} {start}–{end}"
    if isinstance(value, Property):
        values = split_values(value.values)
        named = f"{label} “{value.key.strip() or _BLANK}”"
        shown = quoted_list(values)
        if op == "eq":
            return f"{named} {'is one of' if len(values) > 1 else 'is'} {shown}"
        if op == "neq":
            return f"{named} {'is none of' if len(values) > 1 else 'is not'} {shown}"
        return f"{named} {op_label} {shown}"
    if op == "in":
        return f"{label} {op_label} {quoted_list(split_values(value))}"
    flag = _parse_bool(value) if type_ == "boolean" else None
    if flag is not None and op in ("eq", "neq"):
        if flag == (op == "eq"):
            return label
        return _NEGATED_LABELS.get(key, f"{label} is no")
    return f"{label} {op_label} {value.strip() or _BLANK}"


# --- builder operations --------------------------------------------------------------------------


def _count(tree: Node) -> int:
    return sum(1 for _, n in walk(tree) if isinstance(n, Condition))


def _check_limits(before: Group, after: Group) -> Group:
    """``after``, unless the step grew the tree past a limit (an imported tree may already be)."""
    count = _count(after)
    if count > MAX_CONDITIONS and count > _count(before):
        raise FilterError(f"A filter can have at most {MAX_CONDITIONS} conditions.")
    levels = depth(after)
    if levels > MAX_DEPTH and levels > depth(before):
        raise FilterError(f"Groups can be nested at most {MAX_DEPTH} levels deep, so no group can go here.")
    return after


def _update(tree: Group, path: Path, change) -> Group:
    """``tree`` with the node at ``path`` replaced by ``change(node)`` (a list of nodes: 0, 1 or more)."""
    if not path:
        result = change(tree)
        return result[0] if len(result) == 1 and isinstance(result[0], Group) else tree
    parent_path, index = path[:-1], path[-1]

    def edit(parent: Node) -> list[Node]:
        children = list(parent.children)
        children[index : index + 1] = change(children[index])
        return [replace(parent, children=tuple(children))]

    return _update(tree, parent_path, edit)


def _group_at(tree: Group, path: Path) -> Group | None:
    node = get(tree, path)
    return node if isinstance(node, Group) else None


def add_condition(tree: Group, group_path: Path = (), condition: Condition | None = None) -> Group:
    """Append ``condition`` (a blank one by default) to the group at ``group_path``."""
    if _group_at(tree, group_path) is None:
        return tree
    new = condition if condition is not None else Condition()
    return _check_limits(tree, _update(tree, group_path, lambda g: [replace(g, children=(*g.children, new))]))


def add_group(tree: Group, group_path: Path = (), connector: str = "and") -> Group:
    """Append a new group, holding one blank condition to fill in, to the group at ``group_path``."""
    if _group_at(tree, group_path) is None:
        return tree
    new = Group(connector, (Condition(),))
    return _check_limits(tree, _update(tree, group_path, lambda g: [replace(g, children=(*g.children, new))]))


def remove(tree: Group, path: Path) -> Group:
    """Remove the node at ``path`` (the root can't be removed; see :func:`clear`)."""
    if not path or get(tree, path) is None:
        return tree
    return _update(tree, path, lambda _: [])


def clear(tree: Group) -> Group:
    return EMPTY


def clone(tree: Group, path: Path) -> Group:
    """Insert a copy of the node at ``path`` right after it."""
    if not path or get(tree, path) is None:
        return tree
    return _check_limits(tree, _update(tree, path, lambda node: [node, node]))


def move(tree: Group, path: Path, delta: int) -> Group:
    """Move the node at ``path`` ``delta`` places within its group (−1 up, +1 down); no-op past an end."""
    if not path or get(tree, path) is None:
        return tree
    parent = _group_at(tree, path[:-1])
    index, target = path[-1], path[-1] + delta
    if parent is None or not 0 <= target < len(parent.children):
        return tree

    def edit(group: Node) -> list[Node]:
        children = list(group.children)
        children.insert(target, children.pop(index))
        return [replace(group, children=tuple(children))]

    return _update(tree, path[:-1], edit)


def moved_path(path: Path, delta: int) -> Path:
    """Where :func:`move` puts the node (to keep focus on it)."""
    return (*path[:-1], path[-1] + delta) if path else path


def set_connector(tree: Group, group_path: Path, connector: str) -> Group:
    """Switch the group at ``group_path`` to ``"and"`` or ``"or"``; any other connector is a no-op."""
    if connector not in CONNECTORS or _group_at(tree, group_path) is None:
        return tree
    return _update(tree, group_path, lambda g: [replace(g, connector=connector)])


def set_node(tree: Group, path: Path, node: Node) -> Group:
    """Replace the node at ``path`` with ``node`` (the root only with a group)."""
    if get(tree, path) is None or (not path and not isinstance(node, Group)):
        return tree
    return _check_limits(tree, _update(tree, path, lambda _: [node]))


def conform(tree: Group, base_metric: catalog.BaseMetric) -> Group:
    """Give each condition the value shape its key needs, keeping the text (for a changed key).

    Text becomes a range's start or a property's values and back. A known key whose operator it
    doesn't support gets its first supported operator, as the operator picker would show.
    """
    result = tree
    for path, node in conditions(tree):
        spec = base_metric.filter(node.key)
        if spec is None:
            continue
        op = node.op if node.op in spec.supported_ops or not spec.supported_ops else spec.supported_ops[0]
        value = _reshape(node.value, spec.type)
        if (op, value) != (node.op, node.value):
            result = _update(result, path, lambda n, op=op, value=value: [replace(n, op=op, value=value)])
    return result


def _reshape(value: Value, type_: str) -> Value:
    text = value if isinstance(value, str) else value.start if isinstance(value, Range) else value.values
    if type_ == "range":
        return value if isinstance(value, Range) else Range(text, "")
    if type_ == "property":
        return value if isinstance(value, Property) else Property("", text)
    if isinstance(value, Range):
        return "\n".join(v for v in (value.start, value.end) if v) if value.end else value.start
    return text


def drop_inapplicable(
    tree: Group, base_metric: catalog.BaseMetric
) -> tuple[Group, tuple[tuple[Path, Condition], ...]]:
    """Remove the conditions ``base_metric`` can't use (key not allowed, or operator unsupported).

    Returns the new tree and the dropped conditions with their old paths, so the page can say
    which ones went ("Removed “had an ANR”: Crash count can't be filtered by it."). Blank
    conditions (no key or no operator yet) stay.
    """
    dropped = []
    for path, node in conditions(tree):
        spec = base_metric.filter(node.key) if node.key else None
        if node.key and (spec is None or (node.op and node.op not in spec.supported_ops)):
            dropped.append((path, node))
    result = tree
    for path, _ in reversed(dropped):  # later paths first, so earlier ones stay valid
        result = remove(result, path)
    return result, tuple(dropped)


# --- the linter ----------------------------------------------------------------------------------


def _normal(condition: Condition) -> tuple | None:
    """What ``condition`` means, comparable across spellings ("14" = "+14", "yes" = "true");
    ``None`` for a condition not filled in yet (the linter leaves those alone)."""
    key, op, value = condition.key, condition.op, condition.value
    if not key or not op:
        return None
    type_ = key_type(key)

    def scalar(text: str) -> object:
        parsed = _parse_int(text) if type_ == "int" else _parse_bool(text) if type_ == "boolean" else None
        return text if parsed is None else parsed

    if isinstance(value, Range):
        return (key, op, "range", scalar(value.start), scalar(value.end))
    if isinstance(value, Property):
        values = split_values(value.values)
        return (key, op, "property", value.key.strip(), frozenset(values)) if values else None
    if op == "in":
        values = split_values(value)
        return (key, op, "list", frozenset(scalar(v) for v in values)) if values else None
    if not value.strip():
        return None
    return (key, op, "scalar", scalar(value.strip() if type_ in ("int", "boolean") else value))


def lint(tree: Group) -> list[LintWarning]:
    """Legal but probably unintended parts of ``tree``, in reading order, each with a fix.

    - ``contradiction``: in an "all of" group, the same key must equal two different values (or
      equal and not equal one value); the group can never match. The fix removes the later one.
    - ``duplicate``: the same condition twice in one group. The fix removes the later one.
    - ``empty-group``: a group (not the root) with nothing in it. The fix removes it.
    - ``single-child``: a group with one item (the root only when that item is a group). The fix
      puts the item in the group's place.

    Conditions not filled in yet are ignored. Every fix except ``contradiction`` keeps what the
    filter matches; a contradiction's fix makes the group match what the earlier condition does.
    """
    warnings: list[LintWarning] = []
    for path, node in walk(tree):
        if not isinstance(node, Group):
            continue
        if path and not node.children:
            warnings.append(
                LintWarning(
                    "empty-group",
                    (path,),
                    "This group is empty, so it changes nothing.",
                    "Remove the empty group",
                )
            )
        if len(node.children) == 1 and (path or isinstance(node.children[0], Group)):
            warnings.append(
                LintWarning(
                    "single-child",
                    (path,),
                    "This group holds only one item, so the group itself does nothing.",
                    "Take the item out of the group",
                )
            )
        warnings.extend(_pair_warnings(path, node))
    return warnings


def _pair_warnings(path: Path, group: Group) -> list[LintWarning]:
    found: list[LintWarning] = []
    seen: list[tuple[int, Condition, tuple]] = []
    for index, child in enumerate(group.children):
        meaning = _normal(child) if isinstance(child, Condition) else None
        if meaning is None:
            continue
        later = condition_sentence(child)
        twin = next((i for i, _, m in seen if m == meaning), None)
        if twin is not None:
            found.append(
                LintWarning(
                    "duplicate",
                    ((*path, index), (*path, twin)),
                    f"“{later}” is in this group twice.",
                    "Remove the second one",
                )
            )
            continue
        if group.connector == "and":
            clash = next(((i, c) for i, c, m in seen if _contradicts(m, meaning)), None)
            if clash is not None:
                earlier = condition_sentence(clash[1])
                found.append(
                    LintWarning(
                        "contradiction",
                        ((*path, index), (*path, clash[0])),
                        f"“{earlier}” and “{later}” can't both be true, so this group never counts "
                        f"anything. The fix removes “{later}”.",
                        f"Remove “{later}”",
                    )
                )
                continue
        seen.append((index, child, meaning))
    return found


def _contradicts(a: tuple, b: tuple) -> bool:
    if a[0] != b[0] or a[2] != "scalar" or b[2] != "scalar":
        return False
    ops = {a[1], b[1]}
    if ops == {"eq"}:
        return a[3] != b[3]
    return ops == {"eq", "neq"} and a[3] == b[3]


def apply_fix(tree: Group, warning: LintWarning | str) -> Group:
    """``tree`` with ``warning`` fixed; a warning (or id) that no longer applies is a no-op."""
    wanted = warning.id if isinstance(warning, LintWarning) else warning
    current = next((w for w in lint(tree) if w.id == wanted), None)
    if current is None:
        return tree
    target = current.paths[0]
    if current.code in ("duplicate", "contradiction", "empty-group"):
        return remove(tree, target)
    group = get(tree, target)
    if not isinstance(group, Group) or len(group.children) != 1:
        return tree
    child = group.children[0]
    if not target:
        return child if isinstance(child, Group) else tree
    return _update(tree, target, lambda _: [child])
