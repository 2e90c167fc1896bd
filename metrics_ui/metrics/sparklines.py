"""The list page's trend lines: the last 7 days of every metric shown, from ONE Metrics API request.

The page names the series of the rows it shows, and the lines come after it (htmx), so the list never
waits for the Metrics API.

One range query covers the whole page: ``sum by (__name__) ({__name__=~"hourly_a|daily_b|…", app_id="X"})``
(a regex on the series name, summed per name), so 50 rows cost one request, not 50. Each metric uses its
hourly series if it has one, else daily, else five-minute; metrics not sent to the Metrics API get none.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable

from django.core.cache import cache

from metrics_ui import catalog, upstream

HOUR = 3600
DAYS = 7
BUCKET_HOURS = 4  # 168 hourly points drawn as 42: enough for a trend, small in the HTML
WIDTH, HEIGHT = 100, 20
_PREFERENCE = ("hourly", "daily", "five_minute")
_SERIES = re.compile(r"(hourly|daily|five_minute)_(\w+)")
# Points change at most once an hour (hourly ones are readable 15 minutes after the hour), so a page's
# lines are kept a few minutes: paging back and forth or re-sorting costs no Metrics API request.
CACHE_SECONDS = 300


def series_name(metric: upstream.CustomMetric) -> str | None:
    """The series the trend line reads, or None when the metric isn't sent to the Metrics API."""
    if catalog.DEFAULT_DESTINATION not in metric.data_destination or not catalog.NAME_RE.fullmatch(
        metric.name
    ):
        return None
    granularity = next((g for g in _PREFERENCE if g in metric.time_granularity), None)
    return f"{granularity}_{metric.name}" if granularity else None


def metric_of(series: str) -> str | None:
    """The metric a series name belongs to (``hourly_x`` -> ``x``), or None for anything else."""
    match = _SERIES.fullmatch(series)
    return match.group(2) if match and catalog.NAME_RE.fullmatch(match.group(2)) else None


def query(app_id: str, names: Iterable[str]) -> str:
    # Names follow the Prometheus name rule (letters, digits, "_" and ":"), so none needs escaping in a regex.
    return f'sum by (__name__) ({{__name__=~"{"|".join(names)}", app_id="{app_id}"}})'


def fetch(api: upstream.MetricsApi, app_id: str, series: Iterable[str], *, scope: str) -> dict[str, str]:
    """Metric name -> the polyline points of its trend, for these series; metrics without data are left out.

    ``scope`` names whose token reads them (cached lines are never shared between people). Raises
    ``upstream.UpstreamError`` like any call; the list page then simply shows no trend lines.
    """
    wanted = {name: metric for name in series if (metric := metric_of(name))}
    if not wanted:
        return {}
    upstream.validate_app_id(app_id)
    end = int(time.time()) // HOUR * HOUR
    start = end - DAYS * 24 * HOUR + HOUR
    names = sorted(wanted)
    key = "sparklines:" + hashlib.sha256(f"{scope}|{app_id}|{end}|{','.join(names)}".encode()).hexdigest()
    lines = cache.get(key)
    if lines is None:
        lines = {}
        for series in api.query_range(query(app_id, names), start, end, HOUR):
            name = wanted.get(series.label("__name__"))
            if name and series.points:
                lines[name] = points(series.points, start)
        cache.set(key, lines, CACHE_SECONDS)
    return lines


def points(samples: tuple[tuple[int, float], ...], start: int) -> str:
    """Sums per 4-hour bucket, scaled into a 100 x 20 box (the top is the largest bucket)."""
    buckets = [0.0] * (DAYS * 24 // BUCKET_HOURS)
    for stamp, value in samples:
        index = (stamp - start) // (BUCKET_HOURS * HOUR)
        if 0 <= index < len(buckets):
            buckets[index] += value
    top = max(buckets) or 1.0
    last = len(buckets) - 1
    return " ".join(
        f"{round(i * WIDTH / last, 1):g},{round(HEIGHT - v * (HEIGHT - 1) / top - 0.5, 1):g}"
        for i, v in enumerate(buckets)
    )
