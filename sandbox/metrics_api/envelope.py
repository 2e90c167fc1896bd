"""Prometheus's response envelopes: ``{"status": "success", "data": ...}`` and
``{"status": "error", "errorType": ..., "error": ...}``, and how samples are written."""

from __future__ import annotations

import math

from django.http import JsonResponse

BAD_DATA = ("bad_data", 400)
EXECUTION = ("execution", 422)
UNAUTHORIZED = ("unauthorized", 401)
FORBIDDEN = ("forbidden", 403)
NOT_FOUND = ("not_found", 404)
METHOD = ("bad_data", 405)


class PromError(Exception):
    """An error answer: its Prometheus error type, HTTP status and message."""

    def __init__(self, kind: tuple[str, int], message: str):
        self.error_type, self.status = kind
        self.message = message
        super().__init__(message)


def success(data: object) -> JsonResponse:
    return JsonResponse({"status": "success", "data": data}, safe=False)


def error(problem: PromError) -> JsonResponse:
    body = {"status": "error", "errorType": problem.error_type, "error": problem.message}
    response = JsonResponse(body, status=problem.status)
    if problem.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def number(value: float) -> str:
    """A sample value the way Prometheus writes it: ``"12"``, ``"0.5"``, ``"NaN"``, ``"+Inf"``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def timestamp(t: float) -> float | int:
    """Unix seconds with millisecond precision, as Prometheus writes them."""
    rounded = round(t, 3)
    return int(rounded) if rounded.is_integer() else rounded
