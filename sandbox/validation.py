"""Validation of a create-custom-metric request body, as pure functions.

``validate_create(body)`` takes the parsed JSON body and returns the definition to store, with the
documented defaults applied, or raises ``Invalid`` whose message names the field (as a path such
as ``filters.children[1].val``) and says what is wrong in plain words. The first problem found is
reported, in the order the fields appear in the documentation.

Limits the documentation does not give are chosen here and listed in docs/sandbox.md.
"""

from __future__ import annotations

import json
import unicodedata

from metrics_ui import catalog

MAX_BODY_BYTES = 64 * 1024
MAX_FILTER_DEPTH = 5  # levels of groups: a root group holding groups holding groups ... five deep
MAX_CONDITIONS = 100  # conditions (leaves) in one filter tree
MAX_LIST_VALUES = 100  # values in one `in` list or one property_values list
MAX_TEXT_LENGTH = 1000  # characters in one string value or group-by key
MAX_GROUP_BY = 20
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

GROUP_OPS = ("and", "or")
TOP_LEVEL_FIELDS = ("name", "metric", "group_by", "filters", "time_granularity", "data_destination")


class Invalid(Exception):
    """The request body breaks a rule; ``message`` names the field and the problem."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.message = f"{field}: {problem}" if field else problem
        super().__init__(self.message)


def show(value: object, limit: int = 60) -> str:
    """A short JSON rendering of a value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(value: object) -> str:
    """The JSON type of a value, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _one_of(values) -> str:
    return ", ".join(values)


def validate_create(body: object) -> dict:
    """The stored definition for a create request, defaults applied; raises ``Invalid``."""
    if not isinstance(body, dict):
        raise Invalid("", f"the request body must be a JSON object, not {_kind(body)}")
    for field in body:
        if field not in TOP_LEVEL_FIELDS:
            raise Invalid(
                show(field, 40).strip('"'),
                f"unknown field; a custom metric has only {_one_of(TOP_LEVEL_FIELDS)}",
            )
    name = validate_name(body.get("name"))
    base = _base_metric(body.get("metric"))
    group_by = _group_by(body.get("group_by"), base)
    return {
        "name": name,
        "metric": base.metric,
        "filters": validate_filters(body.get("filters"), base),
        "group_by": group_by,
        "time_granularity": _choices(
            body.get("time_granularity"),
            "time_granularity",
            known=catalog.GRANULARITIES,
            allowed=base.time_granularity,
            default=catalog.DEFAULT_GRANULARITY,
            base=base,
        ),
        "data_destination": _choices(
            body.get("data_destination"),
            "data_destination",
            known=catalog.DESTINATIONS,
            allowed=base.data_destination,
            default=catalog.DEFAULT_DESTINATION,
            base=base,
        ),
    }


def validate_name(name: object) -> str:
    if name is None:
        raise Invalid("name", "is required")
    if not isinstance(name, str):
        raise Invalid("name", f"must be a string, not {_kind(name)}")
    if not name:
        raise Invalid("name", "can't be empty")
    if len(name) > catalog.NAME_MAX_LENGTH:
        raise Invalid(
            "name", f"must be at most {catalog.NAME_MAX_LENGTH} characters long (it has {len(name)})"
        )
    if not catalog.NAME_RE.fullmatch(name):
        raise Invalid(
            "name",
            f"{show(name)} is not a valid metric name: use only letters, digits and underscores, "
            "and start with a letter or an underscore",
        )
    return name


def _base_metric(metric: object) -> catalog.BaseMetric:
    if metric is None:
        raise Invalid("metric", "is required: name the base metric to aggregate, for example sessions_total")
    if not isinstance(metric, str):
        raise Invalid("metric", f"must be a string, not {_kind(metric)}")
    if not metric:
        raise Invalid("metric", "can't be empty")
    base = catalog.get(metric)
    if base is None:
        raise Invalid(
            "metric",
            f"base metric {show(metric)} doesn't exist; the parameters endpoint lists the supported ones",
        )
    return base


def _text(value: object, field: str, what: str = "value") -> str:
    if not isinstance(value, str):
        raise Invalid(field, f"must be a string, not {_kind(value)}")
    if not value:
        raise Invalid(field, f"the {what} can't be empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise Invalid(field, f"the {what} must be at most {MAX_TEXT_LENGTH} characters long")
    # Control characters and lone surrogates cannot be stored by every database (PostgreSQL's
    # jsonb refuses \u0000) and are never a meaningful filter value.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise Invalid(field, f"the {what} can't contain control characters")
    return value


def _string_list(value: object, field: str, limit: int) -> list[str]:
    if not isinstance(value, list):
        raise Invalid(field, f"must be a list of strings, not {_kind(value)}")
    if len(value) > limit:
        raise Invalid(field, f"can have at most {limit} entries (it has {len(value)})")
    seen: set[str] = set()
    for index, item in enumerate(value):
        _text(item, f"{field}[{index}]")
        if item in seen:
            raise Invalid(f"{field}[{index}]", f"{show(item)} is listed twice")
        seen.add(item)
    return list(value)


def _group_by(value: object, base: catalog.BaseMetric) -> list[str]:
    if value is None:
        return []
    keys = _string_list(value, "group_by", MAX_GROUP_BY)
    for index, key in enumerate(keys):
        if not base.allows_group_by(key):
            prefix, dot, _ = key.partition(".")
            hint = ""
            if dot and prefix in base.group_by and prefix in catalog.PROPERTY_GROUP_BYS:
                hint = f" (write {prefix}.<property key>)"
            raise Invalid(
                f"group_by[{index}]",
                f"{base.metric} can't be grouped by {show(key)}{hint}; "
                f"it can be grouped by {_one_of(_group_by_forms(base))}",
            )
    return keys


def _group_by_forms(base: catalog.BaseMetric) -> list[str]:
    return [f"{key}.<key>" if key in catalog.PROPERTY_GROUP_BYS else key for key in base.group_by]


def _choices(
    value: object,
    field: str,
    *,
    known: tuple[str, ...],
    allowed: tuple[str, ...],
    default: str,
    base: catalog.BaseMetric,
) -> list[str]:
    # "If it is empty, by default hourly (metrics_api) is turned on": omitted, null and [] alike.
    if value is None:
        return [default]
    values = _string_list(value, field, len(known))
    for index, item in enumerate(values):
        if item not in known:
            raise Invalid(f"{field}[{index}]", f"{show(item)} is not one of {_one_of(known)}")
        if item not in allowed:
            raise Invalid(
                f"{field}[{index}]",
                f"{show(item)} is not available for {base.metric}; use {_one_of(allowed)}",
            )
    return values or [default]


def validate_filters(value: object, base: catalog.BaseMetric) -> dict:
    """The filter tree, unchanged, if it is valid for ``base``; ``{}`` when empty or omitted."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise Invalid("filters", f"must be an object (a filter group, or {{}} for none), not {_kind(value)}")
    if "op" not in value and "children" not in value:
        raise Invalid(
            "filters",
            'must be a group such as {"op": "and", "children": [...]} at the top, or {} for no filter',
        )
    counter = [0]
    _group(value, "filters", base, depth=1, counter=counter)
    return value


def _group(node: dict, field: str, base: catalog.BaseMetric, *, depth: int, counter: list[int]) -> None:
    for key in node:
        if key not in ("op", "children"):
            raise Invalid(f"{field}.{show(key, 40).strip(chr(34))}", "unknown field in a filter group")
    op = node.get("op")
    if op is None:
        raise Invalid(f"{field}.op", 'a filter group needs "op": "and" or "or"')
    if op not in GROUP_OPS:
        raise Invalid(f"{field}.op", f'{show(op)} is not a group operator; use "and" or "or"')
    children = node.get("children")
    if children is None:
        raise Invalid(f"{field}.children", "a filter group needs a children list")
    if not isinstance(children, list):
        raise Invalid(f"{field}.children", f"must be a list of conditions and groups, not {_kind(children)}")
    if not children:
        raise Invalid(f"{field}.children", "a filter group needs at least one condition")
    for index, child in enumerate(children):
        path = f"{field}.children[{index}]"
        if not isinstance(child, dict):
            raise Invalid(path, f"must be a condition or a group (an object), not {_kind(child)}")
        if "op" in child or "children" in child:
            if depth >= MAX_FILTER_DEPTH:
                raise Invalid(path, f"filter groups can be nested at most {MAX_FILTER_DEPTH} levels deep")
            _group(child, path, base, depth=depth + 1, counter=counter)
        else:
            counter[0] += 1
            if counter[0] > MAX_CONDITIONS:
                raise Invalid(path, f"a filter can have at most {MAX_CONDITIONS} conditions")
            _condition(child, path, base)


def _condition(node: dict, field: str, base: catalog.BaseMetric) -> None:
    for key in node:
        if key not in ("field_op", "key", "val"):
            raise Invalid(
                f"{field}.{show(key, 40).strip(chr(34))}",
                "unknown field in a condition; a condition has field_op, key and val",
            )
    for required in ("key", "field_op", "val"):
        if required not in node:
            raise Invalid(f"{field}.{required}", "is missing; a condition needs field_op, key and val")
    key = node["key"]
    if not isinstance(key, str):
        raise Invalid(f"{field}.key", f"must be a string, not {_kind(key)}")
    spec = base.filter(key)
    if spec is None:
        raise Invalid(
            f"{field}.key",
            f"{base.metric} can't be filtered by {show(key)}; "
            f"its filters are {_one_of(f.name for f in base.filters)}",
        )
    op = node["field_op"]
    if not isinstance(op, str):
        raise Invalid(f"{field}.field_op", f"must be a string, not {_kind(op)}")
    if op not in spec.supported_ops:
        known = "" if op in catalog.OPERATORS else " is not an operator, and"
        raise Invalid(
            f"{field}.field_op",
            f"{show(op)}{known} can't be used with {key}; use {_one_of(spec.supported_ops)}",
        )
    val = node["val"]
    if op == "in":
        if not isinstance(val, list):
            raise Invalid(f"{field}.val", f'"in" takes a list of values, not {_kind(val)}')
        if not val:
            raise Invalid(f"{field}.val", '"in" needs at least one value')
        if len(val) > MAX_LIST_VALUES:
            raise Invalid(f"{field}.val", f'"in" can take at most {MAX_LIST_VALUES} values')
        seen: set[str] = set()
        for index, item in enumerate(val):
            _value(item, f"{field}.val[{index}]", spec)
            canonical = json.dumps(item, sort_keys=True)
            if canonical in seen:
                raise Invalid(f"{field}.val[{index}]", f"{show(item)} is listed twice")
            seen.add(canonical)
    else:
        _value(val, f"{field}.val", spec)


def _value(val: object, field: str, spec: catalog.FilterSpec) -> None:
    kind = spec.type
    if kind == "string":
        if not isinstance(val, str):
            raise Invalid(field, f"{spec.name} takes a string, not {_kind(val)}")
        _text(val, field)
    elif kind == "int":
        _int(val, field, spec.name)
    elif kind == "boolean":
        if not isinstance(val, bool):
            raise Invalid(field, f"{spec.name} takes true or false, not {_kind(val)}")
    elif kind == "range":
        _range(val, field, spec.name)
    elif kind == "property":
        _property(val, field, spec.name)
    else:  # pragma: no cover - the catalog only uses the types above
        raise Invalid(field, f"{spec.name} has an unsupported value type")


def _int(val: object, field: str, name: str) -> int:
    if isinstance(val, bool) or not isinstance(val, int):
        raise Invalid(field, f"{name} takes a whole number, not {_kind(val)}")
    if not INT_MIN <= val <= INT_MAX:
        raise Invalid(field, f"{name} must be between {INT_MIN} and {INT_MAX}")
    return val


def _range(val: object, field: str, name: str) -> None:
    shape = '{"start": <whole number>, "end": <whole number>}'
    if not isinstance(val, dict):
        raise Invalid(field, f"{name} takes a range {shape}, not {_kind(val)}")
    for key in val:
        if key not in ("start", "end"):
            raise Invalid(f"{field}.{show(key, 40).strip(chr(34))}", f"unknown field; a range is {shape}")
    for key in ("start", "end"):
        if key not in val:
            raise Invalid(f"{field}.{key}", f"is missing; a range is {shape}")
        _int(val[key], f"{field}.{key}", f"{name} {key}")
    if val["start"] > val["end"]:
        raise Invalid(field, f"the range starts after it ends ({val['start']} > {val['end']})")


def _property(val: object, field: str, name: str) -> None:
    shape = '{"property_key": "<key>", "property_values": ["<value>", ...]}'
    if not isinstance(val, dict):
        raise Invalid(field, f"{name} takes a property {shape}, not {_kind(val)}")
    for key in val:
        if key not in ("property_key", "property_values"):
            raise Invalid(f"{field}.{show(key, 40).strip(chr(34))}", f"unknown field; a property is {shape}")
    for key in ("property_key", "property_values"):
        if key not in val:
            raise Invalid(f"{field}.{key}", f"is missing; a property is {shape}")
    _text(val["property_key"], f"{field}.property_key", "property key")
    values = val["property_values"]
    if isinstance(values, list) and not values:
        raise Invalid(f"{field}.property_values", "needs at least one value")
    _string_list(values, f"{field}.property_values", MAX_LIST_VALUES)
