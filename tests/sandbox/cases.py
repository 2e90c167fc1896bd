"""Request bodies the sandbox must refuse, each with the field its 400 message must name."""

VALID = {"name": "ok_metric", "metric": "sessions_total"}


def body(**changes) -> dict:
    result = {**VALID, **changes}
    return {k: v for k, v in result.items() if v is not ...}


def where(*children, op="and") -> dict:
    return {"op": op, "children": list(children)}


def cond(key, field_op, val) -> dict:
    return {"field_op": field_op, "key": key, "val": val}


def nested(depth: int) -> dict:
    tree = where(cond("app_version", "eq", "1.0"))
    for _ in range(depth - 1):
        tree = where(tree)
    return tree


# (case id, body, text the message must contain: the field, as a path)
BAD_BODIES = [
    ("body is a list", [VALID], "JSON object"),
    ("body is a string", "sessions_total", "JSON object"),
    ("body is null", None, "JSON object"),
    ("unknown top-level field", body(colour="red"), "colour"),
    ("custom_metric_id may not be sent", body(custom_metric_id="abcdefg"), "custom_metric_id"),
    ("name missing", body(name=...), "name"),
    ("name null", body(name=None), "name"),
    ("name empty", body(name=""), "name"),
    ("name not a string", body(name=12), "name"),
    ("name starts with a digit", body(name="1abc"), "name"),
    ("name with a dash", body(name="my-metric"), "name"),
    ("name with a colon", body(name="a:b"), "name"),
    ("name with parentheses", body(name="Requests_by_Status_(x)"), "name"),
    ("name with a space", body(name="a b"), "name"),
    ("name non-ASCII letter", body(name="métrique"), "name"),
    ("name too long", body(name="a" * 129), "name"),
    ("metric missing", body(metric=...), "metric"),
    ("metric unknown", body(metric="sessions"), "metric"),
    ("metric old name", body(metric="traces_total"), "metric"),
    ("metric not a string", body(metric=["sessions_total"]), "metric"),
    ("group_by not a list", body(group_by="app_version"), "group_by"),
    ("group_by item not a string", body(group_by=[1]), "group_by[0]"),
    ("group_by key unknown", body(group_by=["app_version", "city"]), "group_by[1]"),
    ("group_by key of another metric", body(group_by=["status_code"]), "group_by[0]"),
    ("group_by duplicate", body(group_by=["country", "country"]), "group_by[1]"),
    ("group_by bare property", body(group_by=["session_property"]), "group_by[0]"),
    ("group_by property with no key", body(group_by=["session_property."]), "group_by[0]"),
    ("group_by property of another metric", body(group_by=["log_property.level"]), "group_by[0]"),
    ("group_by too many", body(group_by=[f"session_property.k{i}" for i in range(21)]), "group_by"),
    ("filters a list", body(filters=[cond("os_version", "eq", "12")]), "filters"),
    ("filters a string", body(filters="os_version=12"), "filters"),
    ("filters a bare condition", body(filters=cond("os_version", "eq", "12")), "filters"),
    ("group op not", body(filters={"op": "not", "children": [cond("os_version", "eq", "12")]}), "filters.op"),
    ("group op missing", body(filters={"children": [cond("os_version", "eq", "12")]}), "filters.op"),
    ("group without children", body(filters={"op": "and"}), "filters.children"),
    ("group children not a list", body(filters={"op": "and", "children": {}}), "filters.children"),
    ("group children empty", body(filters=where()), "filters.children"),
    ("group unknown field", body(filters={**where(cond("os_version", "eq", "1")), "x": 1}), "filters.x"),
    ("child not an object", body(filters=where("os_version=12")), "filters.children[0]"),
    (
        "condition without val",
        body(filters=where({"field_op": "eq", "key": "os_version"})),
        "children[0].val",
    ),
    ("condition without key", body(filters=where({"field_op": "eq", "val": "1"})), "children[0].key"),
    ("condition without op", body(filters=where({"key": "os_version", "val": "1"})), "children[0].field_op"),
    (
        "condition unknown field",
        body(filters=where({**cond("os_version", "eq", "1"), "not": True})),
        "[0].not",
    ),
    ("filter key unknown", body(filters=where(cond("city", "eq", "Paris"))), "children[0].key"),
    ("filter key of another metric", body(filters=where(cond("domain", "eq", "x.com"))), "children[0].key"),
    ("filter key not a string", body(filters=where(cond(1, "eq", "x"))), "children[0].key"),
    ("operator unknown", body(filters=where(cond("os_version", "equals", "12"))), "children[0].field_op"),
    ("operator unsupported", body(filters=where(cond("os_version", "like", "12"))), "children[0].field_op"),
    ("operator not a string", body(filters=where(cond("os_version", None, "12"))), "children[0].field_op"),
    ("string given a number", body(filters=where(cond("os_version", "eq", 12))), "children[0].val"),
    ("string empty", body(filters=where(cond("os_version", "eq", ""))), "children[0].val"),
    ("string too long", body(filters=where(cond("os_version", "eq", "1" * 1001))), "children[0].val"),
    ("string with NUL", body(filters=where(cond("os_version", "eq", "1\x002"))), "children[0].val"),
    ("string lone surrogate", body(filters=where(cond("os_version", "eq", "\ud800"))), "children[0].val"),
    ("int given a string", body(filters=where(cond("os_major_version", "gt", "9"))), "children[0].val"),
    ("int given a float", body(filters=where(cond("os_major_version", "gt", 9.5))), "children[0].val"),
    ("int given 9.0", body(filters=where(cond("os_major_version", "gt", 9.0))), "children[0].val"),
    ("int given a boolean", body(filters=where(cond("os_major_version", "gt", True))), "children[0].val"),
    ("int too large", body(filters=where(cond("os_major_version", "gt", 2**63))), "children[0].val"),
    ("boolean given a string", body(filters=where(cond("has_anr", "eq", "true"))), "children[0].val"),
    ("boolean given 1", body(filters=where(cond("has_anr", "eq", 1))), "children[0].val"),
    (
        "range given an int",
        body(metric="network_requests_total", filters=where(cond("status_code", "eq", 404))),
        "children[0].val",
    ),
    (
        "range missing end",
        body(metric="network_requests_total", filters=where(cond("status_code", "eq", {"start": 400}))),
        "val.end",
    ),
    (
        "range start after end",
        body(
            metric="network_requests_total",
            filters=where(cond("status_code", "eq", {"start": 500, "end": 400})),
        ),
        "children[0].val",
    ),
    (
        "range bound a string",
        body(
            metric="network_requests_total",
            filters=where(cond("status_code", "eq", {"start": "4", "end": 5})),
        ),
        "val.start",
    ),
    (
        "range extra field",
        body(
            metric="network_requests_total",
            filters=where(cond("status_code", "eq", {"start": 1, "end": 5, "step": 1})),
        ),
        "val.step",
    ),
    (
        "property given a string",
        body(filters=where(cond("session_property", "eq", "plan=pro"))),
        "children[0].val",
    ),
    (
        "property values not a list",
        body(
            filters=where(cond("session_property", "eq", {"property_key": "plan", "property_values": "pro"}))
        ),
        "property_values",
    ),
    (
        "property values empty",
        body(filters=where(cond("session_property", "eq", {"property_key": "plan", "property_values": []}))),
        "property_values",
    ),
    (
        "property key empty",
        body(filters=where(cond("session_property", "eq", {"property_key": "", "property_values": ["a"]}))),
        "property_key",
    ),
    (
        "property value not a string",
        body(filters=where(cond("session_property", "eq", {"property_key": "k", "property_values": [1]}))),
        "property_values[0]",
    ),
    ("in given a string", body(filters=where(cond("os_version", "in", "12"))), "children[0].val"),
    ("in given an empty list", body(filters=where(cond("os_version", "in", []))), "children[0].val"),
    ("in with a wrong type", body(filters=where(cond("os_version", "in", ["12", 13]))), "val[1]"),
    ("in with a duplicate", body(filters=where(cond("os_version", "in", ["12", "12"]))), "val[1]"),
    ("in too long", body(filters=where(cond("os_version", "in", [str(i) for i in range(101)]))), "val"),
    ("eq given a list", body(filters=where(cond("os_version", "eq", ["12"]))), "children[0].val"),
    ("nested too deep", body(filters=nested(6)), "filters.children[0]"),
    (
        "too many conditions",
        body(filters=where(*[cond("os_major_version", "eq", i) for i in range(101)])),
        "[100]",
    ),
    (
        "nested error path",
        body(filters=where(cond("os_version", "eq", "1"), where(cond("country", "eq", 3), op="or"))),
        "filters.children[1].children[0].val",
    ),
    ("granularity not a list", body(time_granularity="hourly"), "time_granularity"),
    ("granularity unknown", body(time_granularity=["hourly", "weekly"]), "time_granularity[1]"),
    ("granularity duplicate", body(time_granularity=["hourly", "hourly"]), "time_granularity[1]"),
    (
        "five_minute on successful network requests",
        body(metric="network_requests_successful_total", time_granularity=["five_minute"]),
        "time_granularity[0]",
    ),
    (
        "five_minute on successful request durations",
        body(metric="network_requests_successful_duration_total", time_granularity=["hourly", "five_minute"]),
        "time_granularity[1]",
    ),
    ("destination not a list", body(data_destination="datadog"), "data_destination"),
    ("destination unknown", body(data_destination=["splunk"]), "data_destination[0]"),
    ("destination duplicate", body(data_destination=["datadog", "datadog"]), "data_destination[1]"),
    ("destination not a string", body(data_destination=[True]), "data_destination[0]"),
]
