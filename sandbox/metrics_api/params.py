"""The request parameters of Prometheus's query endpoints, read and checked the way Prometheus does,
plus Embrace's step rounding."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import promql_parser as pp
from django.http import HttpRequest

from sandbox.metrics_api.envelope import BAD_DATA, PromError

MAX_POINTS = 11_000
# Embrace rounds a range query's step up to one hour.
MIN_STEP = 3600
_EARLIEST, _LATEST = -62135596800.0, 253402300799.0  # years 1 and 9999


def value(request: HttpRequest, name: str) -> str | None:
    """A form field of a POST, else the URL's query parameter, as Prometheus's FormValue reads them."""
    if request.method == "POST" and name in request.POST:
        return request.POST[name]
    return request.GET.get(name)


def values(request: HttpRequest, name: str) -> list[str]:
    return (request.POST.getlist(name) if request.method == "POST" else []) + request.GET.getlist(name)


def _clip(raw: str) -> str:
    return raw if len(raw) <= 80 else raw[:79] + "…"


def _invalid(name: str, message: str) -> PromError:
    return PromError(BAD_DATA, f'invalid parameter "{name}": {message}')


def timestamp(request: HttpRequest, name: str, default: float | None = None) -> float:
    """Unix seconds (a float) or RFC 3339, as Prometheus accepts them."""
    raw = value(request, name) or ""
    if not raw and default is not None:
        return default
    try:
        parsed = float(raw)
    except ValueError:
        parsed = _rfc3339(raw)
    if parsed is None or not math.isfinite(parsed) or not _EARLIEST <= parsed <= _LATEST:
        raise _invalid(name, f'cannot parse "{_clip(raw)}" to a valid timestamp')
    return parsed


def _rfc3339(raw: str) -> float | None:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None or "T" not in raw.upper():
        return None
    return moment.timestamp()


def duration(request: HttpRequest, name: str) -> float:
    """Seconds (a float) or a Prometheus duration such as 5m or 1h30m."""
    raw = value(request, name) or ""
    try:
        seconds = float(raw)
    except ValueError:
        try:
            return pp.parse_duration(raw).total_seconds()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            raise _invalid(name, f'cannot parse "{_clip(raw)}" to a valid duration') from None
    if not math.isfinite(seconds) or abs(seconds) > 9.2e9:
        raise _invalid(name, f'cannot parse "{_clip(raw)}" to a valid duration. It overflows int64')
    return seconds


@dataclass(frozen=True)
class Range:
    start: float
    end: float
    step: float

    def times(self) -> list[float]:
        count = math.floor((self.end - self.start) / self.step) + 1
        return [self.start + i * self.step for i in range(count)]


def query_range(request: HttpRequest) -> Range:
    start = timestamp(request, "start")
    end = timestamp(request, "end")
    if end < start:
        raise _invalid("end", "end timestamp must not be before start time")
    step = duration(request, "step")
    if step <= 0:
        raise _invalid(
            "step", "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    step = max(step, MIN_STEP)
    if (end - start) // step > MAX_POINTS:
        raise PromError(
            BAD_DATA,
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)",
        )
    return Range(start, end, step)
