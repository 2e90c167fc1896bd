"""The sandbox's OpenAPI 3.1 document, built from the catalog so the enums never drift.

Embrace publishes no OpenAPI document; this one describes the sandbox, which follows the public
documentation. ``tests/sandbox/test_openapi.py`` runs schemathesis against the live sandbox to keep
it true. The schema is deliberately no stricter than the server: everything the server accepts is
valid here (the server adds rules per base metric that a schema cannot express).
"""

from __future__ import annotations

from metrics_ui import catalog
from sandbox import validation


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


_STRINGS = {"type": "array", "items": {"type": "string"}}

_SCHEMAS: dict = {
    "Error": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string", "description": "What went wrong, in plain words."}},
        "additionalProperties": False,
    },
    "Range": {
        "type": "object",
        "required": ["start", "end"],
        "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}},
        "additionalProperties": False,
    },
    "Property": {
        "type": "object",
        "required": ["property_key", "property_values"],
        "properties": {
            "property_key": {"type": "string", "minLength": 1},
            "property_values": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "additionalProperties": False,
    },
    "Value": {
        "anyOf": [
            {"type": "string"},
            {"type": "integer"},
            {"type": "boolean"},
            _ref("Range"),
            _ref("Property"),
        ]
    },
    "FilterCondition": {
        "type": "object",
        "description": "A condition: `key` is a filter of the base metric, `field_op` one of its operators.",
        "required": ["field_op", "key", "val"],
        "properties": {
            "field_op": {"type": "string", "enum": list(catalog.OPERATORS)},
            "key": {"type": "string"},
            "val": {
                "description": "A value of the filter's type; a non-empty list of them for `in`.",
                "anyOf": [_ref("Value"), {"type": "array", "items": _ref("Value"), "minItems": 1}],
            },
        },
        "additionalProperties": False,
    },
    "FilterGroup": {
        "type": "object",
        "description": (
            f"Groups nest at most {validation.MAX_FILTER_DEPTH} levels deep and hold at most "
            f"{validation.MAX_CONDITIONS} conditions in all."
        ),
        "required": ["op", "children"],
        "properties": {
            "op": {"type": "string", "enum": ["and", "or"]},
            "children": {
                "type": "array",
                "minItems": 1,
                "items": {"anyOf": [_ref("FilterGroup"), _ref("FilterCondition")]},
            },
        },
        "additionalProperties": False,
    },
    "Filters": {
        "description": "A filter group, or `{}` for no filter.",
        "anyOf": [{"type": "object", "maxProperties": 0}, _ref("FilterGroup")],
    },
    "CustomMetricDefinition": {
        "type": "object",
        "required": ["name", "metric"],
        "properties": {
            "name": {
                "type": "string",
                "pattern": f"^{catalog.NAME_PATTERN}$",
                "minLength": 1,
                "maxLength": catalog.NAME_MAX_LENGTH,
                "description": "Unique per app; the Prometheus rule without colons.",
            },
            "metric": {"type": "string", "enum": list(catalog.CATALOG)},
            "group_by": {
                "type": ["array", "null"],
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "maxItems": validation.MAX_GROUP_BY,
                "description": "Omitted, null or [] means no grouping.",
            },
            "filters": {"anyOf": [_ref("Filters"), {"type": "null"}]},
            "time_granularity": {
                "type": ["array", "null"],
                "items": {"type": "string", "enum": list(catalog.GRANULARITIES)},
                "uniqueItems": True,
                "description": 'Omitted, null or [] means ["hourly"].',
            },
            "data_destination": {
                "type": ["array", "null"],
                "items": {"type": "string", "enum": list(catalog.DESTINATIONS)},
                "uniqueItems": True,
                "description": 'Omitted, null or [] means ["metrics_api"].',
            },
        },
        "additionalProperties": False,
    },
    "CustomMetric": {
        "type": "object",
        "required": [
            "custom_metric_id",
            "app_id",
            "name",
            "metric",
            "filters",
            "group_by",
            "time_granularity",
            "data_destination",
        ],
        "properties": {
            "custom_metric_id": {"type": "string", "pattern": "^[A-Za-z0-9]{7}$"},
            "app_id": {"type": "string"},
            "name": {"type": "string"},
            "metric": {"type": "string"},
            "filters": _ref("Filters"),
            "group_by": _STRINGS,
            "time_granularity": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "data_destination": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "additionalProperties": False,
    },
    "CustomMetricList": {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": _ref("CustomMetric")}},
        "additionalProperties": False,
    },
    "BaseMetric": {
        "type": "object",
        "required": ["metric", "filters", "group_by", "time_granularity", "data_destination"],
        "properties": {
            "metric": {"type": "string"},
            "display_name": {"type": "string"},
            "description": {"type": "string"},
            "filters": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "supported_ops", "type"],
                    "properties": {
                        "name": {"type": "string"},
                        "supported_ops": _STRINGS,
                        "type": {"type": "string", "enum": list(catalog.VALUE_TYPES)},
                    },
                },
            },
            "group_by": _STRINGS,
            "time_granularity": _STRINGS,
            "data_destination": _STRINGS,
        },
    },
}

_APP_ID = {
    "name": "app_id",
    "in": "path",
    "required": True,
    "description": "The Embrace app id. Unknown apps and other organizations' apps both answer 403.",
    "schema": {"type": "string"},
    "example": "appID1",
}

_COMMON_ERRORS = {
    "400": _error("The app id is empty, or the body breaks a rule; the message names the field."),
    "403": _error("No token, an unknown or revoked token, or an app the token's organization doesn't own."),
    "404": _error("There is no such endpoint (or, for DELETE, no such custom metric)."),
    "405": _error("The endpoint doesn't accept this method; the Allow header lists the ones it does."),
    "500": _error("An internal error: we had an internal error, please try again later."),
}

_EXAMPLE_BODY = {
    "name": "sessions_total_v3",
    "metric": "sessions_total",
    "group_by": ["app_version"],
    "filters": {"op": "and", "children": [{"field_op": "eq", "key": "os_version", "val": "12"}]},
    "time_granularity": ["five_minute", "hourly"],
}


def document() -> dict:
    """The OpenAPI document, with paths relative to the sandbox's ``/custom-metrics`` prefix."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Custom Metrics API (sandbox)",
            "version": "1.0.0",
            "description": (
                "The Embrace Custom Metrics API as implemented by the console's built-in sandbox. "
                'Every error body is {"message": "..."}. Request bodies over '
                f"{validation.MAX_BODY_BYTES // 1024} KB are refused with 413."
            ),
        },
        "servers": [{"url": "/custom-metrics"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/app/{app_id}/custom-metrics": {
                "parameters": [_APP_ID],
                "get": {
                    "operationId": "listCustomMetrics",
                    "summary": "List the app's custom metrics, in creation order",
                    "responses": {
                        "200": _json(_ref("CustomMetricList"), "The app's custom metrics."),
                        **_COMMON_ERRORS,
                    },
                },
                "post": {
                    "operationId": "createCustomMetric",
                    "summary": "Create a custom metric",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _ref("CustomMetricDefinition"),
                                "example": _EXAMPLE_BODY,
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            _ref("CustomMetric"), "Created; the stored metric with defaults applied."
                        ),
                        **_COMMON_ERRORS,
                        "409": _error("A custom metric with this name already exists in this app."),
                        "413": _error("The request body is too large."),
                    },
                },
            },
            "/api/v1/app/{app_id}/custom-metrics/parameters": {
                "parameters": [_APP_ID],
                "get": {
                    "operationId": "getParameters",
                    "summary": "The supported base metrics with their filters, group-bys and granularities",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "query",
                            "required": False,
                            "description": "One base metric; all of them when missing or unknown.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": _ref("BaseMetric"), "minItems": 1}, "Base metrics."
                        ),
                        **_COMMON_ERRORS,
                    },
                },
                "delete": {
                    "operationId": "deleteCustomMetricNamedParameters",
                    "summary": "Delete the custom metric named `parameters` (this is also its path)",
                    "responses": {"204": {"description": "Deleted; no body."}, **_COMMON_ERRORS},
                },
            },
            "/api/v1/app/{app_id}/custom-metrics/{custom_metric_name}": {
                "parameters": [
                    _APP_ID,
                    {
                        "name": "custom_metric_name",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "sessions_total_v1",
                    },
                ],
                "delete": {
                    "operationId": "deleteCustomMetric",
                    "summary": "Delete a custom metric by name",
                    "responses": {"204": {"description": "Deleted; no body."}, **_COMMON_ERRORS},
                },
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": _SCHEMAS,
        },
    }
