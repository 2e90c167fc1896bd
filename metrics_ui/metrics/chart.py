"""A metric's series as a line chart: which query to ask, and the numbers laid out for an SVG template.

The chart is drawn by ``templates/metrics/chart.html`` from the coordinates computed here (polylines,
axes, a few labels), so the page's strict CSP holds: no inline script or style, colours from console.css.
With many label combinations the 10 largest series by total are drawn and the rest summed into one line.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.utils.safestring import mark_safe

from metrics_ui import catalog, upstream

RANGES: dict[str, tuple[str, int]] = {
    "24h": ("Last 24 hours", 24 * 3600),
    "7d": ("Last 7 days", 7 * 24 * 3600),
    "30d": ("Last 30 days", 30 * 24 * 3600),
}
DEFAULT_RANGE = "7d"
TOP = 10
OTHERS = "Everything else"
HOUR, DAY = 3600, 86400
# The SVG's own coordinates; it scales to the page width (viewBox, width 100%).
WIDTH, HEIGHT = 1000, 360
LEFT, RIGHT, TOP_EDGE, BOTTOM = 70, 990, 12, 320
_HIDDEN_LABELS = {"__name__", "app_id"}


@dataclass(frozen=True)
class Choice:
    """What the person asked to see: a range key and one of the metric's granularities."""

    range_key: str
    granularity: str

    @classmethod
    def from_params(cls, params, granularities: tuple[str, ...] = catalog.GRANULARITIES) -> Choice:
        range_key = params.get("range", DEFAULT_RANGE)
        if range_key not in RANGES:
            range_key = DEFAULT_RANGE
        granularity = params.get("granularity", "")
        if granularity not in granularities:
            preferred = catalog.DEFAULT_GRANULARITY
            granularity = preferred if preferred in granularities else granularities[0]
        return cls(range_key, granularity)

    @property
    def range_label(self) -> str:
        return RANGES[self.range_key][0]

    @property
    def step(self) -> int:
        # The Metrics API rounds steps under an hour up to an hour; five-minute points are summed per hour.
        return DAY if self.granularity == "daily" else HOUR


def granularities_of(metric: upstream.CustomMetric) -> tuple[str, ...]:
    """The metric's own granularities that the chart knows, finest first (hourly when none is known)."""
    known = tuple(g for g in catalog.GRANULARITIES if g in metric.time_granularity)
    return known or (catalog.DEFAULT_GRANULARITY,)


def query(app_id: str, name: str, granularity: str) -> str:
    """The PromQL for one metric of one app (both already validated, so safe inside the quotes)."""
    selector = f'{granularity}_{name}{{app_id="{app_id}"}}'
    if granularity == "five_minute":
        return f"sum_over_time({selector}[1h])"
    return selector


def window(choice: Choice, now: float) -> tuple[int, int]:
    """Start and end (unix seconds) on whole steps, the end at or before ``now``."""
    end = int(now) // choice.step * choice.step
    return end - RANGES[choice.range_key][1] + choice.step, end


@dataclass(frozen=True)
class Line:
    name: str
    css: str  # series-0 … series-9, series-other
    points: str  # "x,y x,y …" in the SVG's coordinates
    total: float


@dataclass(frozen=True)
class Tick:
    position: int
    text: str


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    headers: tuple[str, ...]  # the table's series columns, in the lines' order
    rows_html: str  # the table's rows (time, then one value per line), oldest first; numbers and dates only

    @property
    def rows(self):
        return mark_safe(self.rows_html)  # noqa: S308 - only numbers and dates formatted by this module

    @property
    def empty(self) -> bool:
        return not self.lines


def fetch(api: upstream.MetricsApi, app_id: str, name: str, choice: Choice, now: float) -> Chart:
    """One range query to the Metrics API, laid out as a chart."""
    start, end = window(choice, now)
    series = api.query_range(query(app_id, name, choice.granularity), start, end, choice.step)
    return build(name, series, choice, start, end)


def series_name(series: upstream.Series) -> str:
    shown = [f"{key} {value}" for key, value in series.labels if key not in _HIDDEN_LABELS]
    return ", ".join(shown) or "All"


def grouped(series: tuple[upstream.Series, ...]) -> list[tuple[str, dict[int, float]]]:
    """The 10 largest series by total, then everything else summed, as (name, {time: value})."""
    named = [(series_name(s), dict(s.points)) for s in series if s.points]
    named.sort(key=lambda item: (-sum(item[1].values()), item[0]))
    top, rest = named[:TOP], named[TOP:]
    if rest:
        others: dict[int, float] = {}
        for _, points in rest:
            for stamp, value in points.items():
                others[stamp] = others.get(stamp, 0.0) + value
        top.append((OTHERS, others))
    return top


def build(name: str, series: tuple[upstream.Series, ...], choice: Choice, start: int, end: int) -> Chart:
    groups = grouped(series)
    title = f"{name}: {choice.range_label.lower()}, {catalog.GRANULARITY_LABELS[choice.granularity].lower()}"
    if not groups:
        return Chart(title, "No data yet.", (), (), (), (), "")
    top = _nice_max(max(max(points.values(), default=0) for _, points in groups))
    span = max(end - start, 1)
    x_scale, y_scale = (RIGHT - LEFT) / span, (BOTTOM - TOP_EDGE) / top
    stamps = sorted({stamp for _, points in groups for stamp in points})
    # Each time's x and label once, shared by every line (10 lines x 720 points is the common worst case).
    xs = {stamp: f"{round(LEFT + (stamp - start) * x_scale)}," for stamp in stamps}
    lines = tuple(
        Line(
            label,
            "series-other" if label == OTHERS and index == TOP else f"series-{index}",
            " ".join(
                f"{xs[stamp]}{round(BOTTOM - value * y_scale)}" for stamp, value in sorted(points.items())
            ),
            sum(points.values()),
        )
        for index, (label, points) in enumerate(groups)
    )
    plural = "s" if len(lines) != 1 else ""
    highest = _number(max(max(p.values()) for _, p in groups))
    description = (
        f"{len(lines)} line{plural} from {_when(start, choice)} to {_when(end, choice)} UTC; "
        f"the highest value is {highest}. "
        + "; ".join(f"{line.name}: {_number(line.total)} in total" for line in lines)
        + "."
    )
    return Chart(
        title,
        description,
        lines,
        _x_ticks(start, end, choice, lambda stamp: round(LEFT + (stamp - start) * x_scale)),
        tuple(Tick(round(BOTTOM - top * i / 4 * y_scale), _number(top * i / 4)) for i in range(5)),
        tuple(label for label, _ in groups),
        _table_body(stamps, groups, choice),
    )


def _table_body(stamps: list[int], groups: list[tuple[str, dict[int, float]]], choice: Choice) -> str:
    """The table's rows as HTML, built here rather than in the template: up to 720 x 11 cells, and a
    template loop over that many costs tens of milliseconds. Every cell is a number or a date we format."""
    columns = [points for _, points in groups]
    return "".join(
        f'<tr><th scope="row">{_when(stamp, choice)}</th>'
        + "".join(f"<td>{_cell(points.get(stamp))}</td>" for points in columns)
        + "</tr>"
        for stamp in stamps
    )


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above ``value`` (so the axis reads in round numbers)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _x_ticks(start: int, end: int, choice: Choice, x) -> tuple[Tick, ...]:
    count = 6
    stamps = [start + (end - start) * i // (count - 1) for i in range(count)]
    return tuple(Tick(x(stamp), _when(stamp, choice, short=True)) for stamp in stamps)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _when(stamp: int, choice: Choice, short: bool = False) -> str:
    # Formatted by hand: strftime costs about 20 µs a call, and a 30-day table has 720 rows.
    moment = time.gmtime(stamp)
    day = f"{moment.tm_mday} {_MONTHS[moment.tm_mon - 1]}"
    clock = f"{moment.tm_hour:02d}:{moment.tm_min:02d}"
    if choice.granularity == "daily" or (short and choice.range_key != "24h"):
        return day
    return clock if short else f"{day} {clock}"


def _cell(value: float | None) -> str:
    """A table cell: plain digits (no thousands separator), which also paste cleanly into a spreadsheet."""
    if value is None:
        return "–"
    return str(int(value)) if value.is_integer() else f"{value:.2f}"


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"
