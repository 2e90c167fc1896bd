"""Synthetic series: every custom metric, per granularity and per combination of group-by values.

A series is named ``<granularity>_<metric name>`` and carries ``app_id`` plus one label per group-by
key (a property group-by under its bare key). Its values follow a daily rhythm with noise, derived
from a hash of the app, name and labels, so the same query always returns the same numbers. A
point's timestamp is the end of its window; the first window starts at or after the metric's
creation, and a point becomes readable only after the granularity's availability delay.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sandbox.models import CustomMetric

GRANULARITY_SECONDS = {"five_minute": 300, "hourly": 3600, "daily": 86400}
# How long after a window closes its point can be read (Embrace's documented figures).
AVAILABILITY_DELAY = {"five_minute": 5 * 60, "hourly": 15 * 60, "daily": 14 * 3600}
METRICS_API_DESTINATION = "metrics_api"
PROPERTY_PREFIXES = ("session_property", "log_property", "root_span_attribute")

# A small fixed set of values per group-by key, so every combination is a series.
VOCABULARY: dict[str, tuple[str, ...]] = {
    "app_version": ("1.0.0", "1.1.0", "2.0.0"),
    "country": ("US", "DE", "BR"),
    "os_major_version": ("15", "16", "17"),
    "os_version": ("15", "16", "17"),
    "top_n_market_name": ("iPhone 15", "Pixel 8", "Galaxy S24"),
    "status_code": ("200", "404", "500"),
    "top_n_path": ("/home", "/cart", "/checkout"),
    "top_n_domain": ("api.example-shop.com", "cdn.example-shop.com"),
    "duration_bucket": ("0-1000", "1000-2000", "2000+"),
    "root_span_duration_bucket": ("0-1000", "1000-2000", "2000+"),
    "plan": ("free", "pro", "enterprise"),
}
OTHER_VALUES = ("a", "b", "c")
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_]")
_MASK = (1 << 64) - 1


def label_name(group_by: str) -> str:
    """The label a group-by key becomes: a property under its bare key, made a valid label name."""
    prefix, dot, rest = group_by.partition(".")
    key = rest if dot and prefix in PROPERTY_PREFIXES else group_by
    key = _LABEL_CHARS.sub("_", key) or "_"
    return f"_{key}" if key[0].isdigit() else key


def _mix(x: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


# Every granularity is a multiple of five minutes, so a point is "tick" n = ts // 300. The rhythm
# (daily, plus a little weekly) and the noise are tables indexed by tick; each series reads the noise
# table from its own offset (its seed). Table look-ups keep a month of points cheap in pure Python.
TICK = 300
_WEEK_TICKS = 7 * 86400 // TICK
RHYTHM = tuple(
    1
    + 0.45 * math.sin(2 * math.pi * (n * TICK / 86400 - 0.4))
    + 0.1 * math.sin(2 * math.pi * n / _WEEK_TICKS)
    for n in range(_WEEK_TICKS)
)
_NOISE_SIZE = 1 << 16
NOISE = tuple(0.85 + 0.3 * (_mix(i) / _MASK) for i in range(_NOISE_SIZE))


def _cycle(table: tuple[float, ...], start: int, stride: int, count: int) -> list[float]:
    """``table[(start + i * stride) % len(table)]`` for i < count, by slicing (a run of points costs
    a copy, not an index computation per point)."""
    out: list[float] = []
    index = start % len(table)
    while len(out) < count:
        chunk = table[index::stride][: count - len(out)]
        out.extend(chunk)
        index = (index + len(chunk) * stride) % len(table)
    return out


@dataclass(frozen=True, slots=True)
class Series:
    labels: dict[str, str]
    step: int
    delay: int
    first: int
    seed: int
    per_hour: float

    def last(self, now: float) -> int:
        """The timestamp of the newest point readable at ``now``."""
        return math.floor((now - self.delay) / self.step) * self.step

    def visible(self, now: float) -> bool:
        return self.first <= self.last(now)

    def values(self, stamps: Iterable[int]) -> list[float]:
        """The values at these (window-end) timestamps; the same arguments always give the same values."""
        scale = self.per_hour * self.step / 3600
        if isinstance(stamps, range):
            if not stamps:
                return []
            first, stride = stamps.start // TICK, max(stamps.step // TICK, 1)
            rhythm = _cycle(RHYTHM, first, stride, len(stamps))
            noise = _cycle(NOISE, first + self.seed, stride, len(stamps))
            return [float(round(scale * r * q)) for r, q in zip(rhythm, noise, strict=True)]
        ticks = [ts // TICK for ts in stamps]
        offset, week, mask = self.seed, _WEEK_TICKS, _NOISE_SIZE - 1
        return [float(round(scale * RHYTHM[n % week] * NOISE[(offset + n) & mask])) for n in ticks]

    def timestamps(self, low: float, high: float, now: float) -> range:
        """Timestamps of readable points in (low, high]."""
        start = max(self.first, math.floor(low / self.step) * self.step + self.step)
        stop = min(self.last(now), math.floor(high / self.step) * self.step)
        return range(start, stop + 1, self.step) if start <= stop else range(0)


def _seed(app_id: str, name: str, labels: Iterable[tuple[str, str]]) -> int:
    text = "\x1f".join([app_id, name, *(f"{k}={v}" for k, v in labels)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _first(created: datetime, step: int) -> int:
    """The end of the first whole window that starts at or after the creation time."""
    return math.ceil(created.timestamp() / step) * step + step


def for_metric(metric: CustomMetric) -> Iterator[Series]:
    keys: dict[str, tuple[str, ...]] = {}
    for group_by in metric.group_by:
        label = label_name(group_by)
        if label not in ("app_id", "__name__"):
            keys[label] = VOCABULARY.get(label, OTHER_VALUES)
    app_id = metric.app.app_id
    for granularity in metric.time_granularity:
        step = GRANULARITY_SECONDS.get(granularity)
        if step is None:
            continue
        name = f"{granularity}_{metric.name}"
        for combination in itertools.product(*keys.values()):
            group = dict(zip(keys, combination, strict=True))
            seed = _seed(app_id, name, sorted(group.items()))
            yield Series(
                labels={"__name__": name, "app_id": app_id, **group},
                step=step,
                delay=AVAILABILITY_DELAY[granularity],
                first=_first(metric.created_at, step),
                seed=seed,
                per_hour=40 + (seed >> 11) % 400,
            )


def for_organization(organization_id: int, now: float) -> list[Series]:
    """Every series of the organization's custom metrics sent to the Metrics API (the ``metrics_api``
    data destination) that has a readable point at ``now``."""
    metrics = CustomMetric.objects.filter(app__organization_id=organization_id).select_related("app")
    chosen = (m for m in metrics if METRICS_API_DESTINATION in m.data_destination)
    return [s for metric in chosen for s in for_metric(metric) if s.visible(now)]
