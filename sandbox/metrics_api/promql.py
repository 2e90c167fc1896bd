"""PromQL over the synthetic series: the subset the sandbox supports, evaluated Prometheus's way.

Supported: vector selectors with ``=``, ``!=``, ``=~``, ``!~`` matchers (``__name__`` too);
``sum``, ``avg``, ``max``, ``min``, ``count`` and ``topk``, each with ``by``/``without``;
``sum_over_time`` and ``increase`` over a range selector. Anything else is a ``bad_data`` error
naming what isn't supported. The parsing is promql-parser's; this module only evaluates.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import promql_parser as pp
import re2

from sandbox.metrics_api.envelope import BAD_DATA, EXECUTION, PromError
from sandbox.metrics_api.series import Series

AGGREGATIONS = ("sum", "avg", "max", "min", "count", "topk")
FUNCTIONS = ("sum_over_time", "increase")
SUPPORTED = (
    "selectors with =, !=, =~ and !~ matchers; sum, avg, max, min, count and topk with by (…) or "
    "without (…); sum_over_time and increase over a range such as [1h]"
)


@dataclass(slots=True)
class Column:
    """One output series: its labels and a value (or None) per evaluation time."""

    labels: dict[str, str]
    values: list[float | None]


def query_error(message: str) -> PromError:
    return PromError(BAD_DATA, f'invalid parameter "query": {message}')


def unsupported(what: str) -> PromError:
    return query_error(f"{what} is not supported by the sandbox; it supports {SUPPORTED}")


def parse(text: str) -> pp.Expr:
    try:
        return pp.parse(text)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # the Rust parser's panics are BaseExceptions, not Exceptions
        raise query_error(f"parse error: {error}") from None


@functools.lru_cache(maxsize=256)
def _regex(pattern: str):
    # RE2, as Prometheus (Go) uses: linear time, so no query can make a worker backtrack for ever.
    # Prometheus anchors label regexes and lets . match a newline; fullmatch and (?s:) do the same.
    try:
        return re2.compile(f"(?s:{pattern})")
    except Exception:
        raise query_error(f"illegal regex {pattern!r}") from None


def _matches(labels: dict[str, str], matchers: list) -> bool:
    for matcher in matchers:
        value = labels.get(matcher.name, "")
        op = matcher.op
        if op == pp.MatchOp.Equal:
            ok = value == matcher.value
        elif op == pp.MatchOp.NotEqual:
            ok = value != matcher.value
        else:
            found = _regex(matcher.value).fullmatch(value) is not None
            ok = found if op == pp.MatchOp.Re else not found
        if not ok:
            return False
    return True


def unwrap(node: pp.Expr) -> pp.Expr:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


class Evaluator:
    """Evaluates one expression at the times given, over the series readable at ``now``."""

    def __init__(self, series: list[Series], times: list[float], now: float):
        self.series = series
        self.times = times
        self.now = now

    def evaluate(self, node: pp.Expr) -> list[Column]:
        node = unwrap(node)
        if isinstance(node, pp.VectorSelector):
            return self._selector(node)
        if isinstance(node, pp.AggregateExpr):
            return self._aggregate(node)
        if isinstance(node, pp.Call):
            return self._call(node)
        if isinstance(node, pp.MatrixSelector):
            raise query_error(
                'invalid expression type "range vector" for range query, must be Scalar or instant Vector'
            )
        raise unsupported(_describe(node))

    def select(self, node: pp.VectorSelector) -> list[Series]:
        if node.offset is not None:
            raise unsupported("offset")
        if node.at is not None:
            raise unsupported("the @ modifier")
        if node.matchers.or_matchers:
            raise unsupported("or inside a selector")
        matchers = list(node.matchers.matchers)
        if node.name is not None:
            matchers.append(_NameMatcher(node.name))
        return [s for s in self.series if _matches(s.labels, matchers)]

    def _selector(self, node: pp.VectorSelector) -> list[Column]:
        columns = []
        for series in self.select(node):
            first, last, step = series.first, series.last(self.now), series.step
            # The newest readable point at or before t; it stays current for a granularity plus the
            # availability delay, so a query for "now" never falls into the gap before the next point.
            stamps = [min(math.floor(t / step) * step, last) for t in self.times]
            stamps = [
                ts if t - ts < step + series.delay else None for ts, t in zip(stamps, self.times, strict=True)
            ]
            inside = _as_range([ts for ts in stamps if ts is not None and first <= ts <= last])
            found = dict(zip(inside, series.values(inside), strict=True))
            columns.append(Column(series.labels, [found.get(ts) for ts in stamps]))
        return columns

    def raw(self, node: pp.MatrixSelector, t: float) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
        """An instant query of a range selector: the points in (t - range, t] as they are."""
        seconds = node.range.total_seconds()
        result = []
        for series in self.select(node.vector_selector):
            stamps = series.timestamps(t - seconds, t, self.now)
            points = list(zip(stamps, series.values(stamps), strict=True))
            if points:
                result.append((series.labels, points))
        return result

    def _call(self, node: pp.Call) -> list[Column]:
        name = node.func.name
        if name not in FUNCTIONS:
            raise unsupported(f"the function {name}()")
        argument = node.args[0] if node.args else None
        if isinstance(argument, pp.SubqueryExpr):
            raise unsupported("a subquery")
        if not isinstance(argument, pp.MatrixSelector):
            raise query_error(f"{name}() takes a range selector such as metric[1h]")
        window = argument.range.total_seconds()
        columns = []
        for series in self.select(argument.vector_selector):
            labels = {k: v for k, v in series.labels.items() if k != "__name__"}
            columns.append(Column(labels, _over_time(series, name, window, self.times, self.now)))
        return _merge_same_labels(columns)

    def _aggregate(self, node: pp.AggregateExpr) -> list[Column]:
        op = str(node.op)
        if op not in AGGREGATIONS:
            raise unsupported(f"the aggregation {op}")
        columns = self.evaluate(node.expr)
        key = _grouping(node.modifier)
        groups: dict[tuple, list[Column]] = {}
        for column in columns:
            groups.setdefault(key(column.labels), []).append(column)
        if op == "topk":
            return _topk(_k(node.param), groups.values(), len(self.times))
        result = []
        for group_labels, members in groups.items():
            values = [_combine(op, [c.values[i] for c in members]) for i in range(len(self.times))]
            result.append(Column(dict(group_labels), values))
        return result


def _as_range(stamps: list[int]) -> list[int] | range:
    """Evenly spaced timestamps as a range, which Series.values reads much faster."""
    if len(stamps) < 2 or stamps[1] <= stamps[0]:
        return stamps
    spaced = range(stamps[0], stamps[-1] + 1, stamps[1] - stamps[0])
    return spaced if len(spaced) == len(stamps) and list(spaced) == stamps else stamps


class _NameMatcher:
    """The metric name written before the braces, as the __name__ matcher it means."""

    op = pp.MatchOp.Equal
    name = "__name__"

    def __init__(self, value: str):
        self.value = value


def _describe(node: pp.Expr) -> str:
    if isinstance(node, pp.BinaryExpr):
        return "a binary operator"
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        return "a literal on its own"
    if isinstance(node, pp.UnaryExpr):
        return "a unary minus"
    if isinstance(node, pp.SubqueryExpr):
        return "a subquery"
    return type(node).__name__


def _grouping(modifier: pp.AggModifier | None):
    if modifier is None:
        return lambda labels: ()
    names = list(modifier.labels)
    if modifier.type == pp.AggModifierType.By:
        keep = sorted(set(names))
        return lambda labels: tuple((n, labels[n]) for n in keep if labels.get(n, ""))
    drop = {*names, "__name__"}
    return lambda labels: tuple(sorted((k, v) for k, v in labels.items() if k not in drop))


def _combine(op: str, values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if op == "sum":
        return math.fsum(present)
    if op == "avg":
        return math.fsum(present) / len(present)
    if op == "max":
        return max(present)
    if op == "min":
        return min(present)
    return float(len(present))


def _k(param: pp.Expr | None) -> int:
    param = unwrap(param) if param is not None else None
    if not isinstance(param, pp.NumberLiteral):
        raise unsupported("a topk parameter other than a number")
    if math.isnan(param.val):
        raise PromError(EXECUTION, "Parameter value is NaN")
    return int(max(min(param.val, 1e9), -1e9))


def _topk(k: int, groups, steps: int) -> list[Column]:
    chosen: list[Column] = []
    for members in groups:
        kept = [Column(c.labels, [None] * steps) for c in members]
        for i in range(steps):
            present = sorted(
                (j for j, c in enumerate(members) if c.values[i] is not None),
                key=lambda j, i=i: -members[j].values[i],
            )
            for j in present[: max(k, 0)]:
                kept[j].values[i] = members[j].values[i]
        chosen.extend(kept)
    return chosen


def _over_time(series: Series, name: str, window: float, times: list[float], now: float) -> list:
    stamps = series.timestamps(times[0] - window, times[-1], now)
    if not stamps:
        return [None] * len(times)
    values = series.values(stamps)
    if name == "sum_over_time":
        sums = list(itertools.accumulate(values, initial=0.0))
    else:
        # A fall between two points is a counter reset: increase() adds back the value before it.
        drops = [prev if cur < prev else 0.0 for prev, cur in itertools.pairwise(values)]
        resets = [0.0, *itertools.accumulate(drops, initial=0.0)]
    start, step, count = stamps.start, stamps.step, len(values)
    out: list[float | None] = []
    for t in times:
        low = max(0, math.floor((t - window - start) / step) + 1)
        high = min(count - 1, math.floor((t - start) / step))
        if name == "sum_over_time":
            out.append(sums[high + 1] - sums[low] if low <= high else None)
        elif high - low < 1:
            out.append(None)
        else:
            raw = values[high] - values[low] + resets[high + 1] - resets[low + 1]
            out.append(
                _extrapolate(raw, values[low], start + low * step, start + high * step, high - low, t, window)
            )
    return out


def _extrapolate(
    raw: float, first: float, first_ts: float, last_ts: float, gaps: int, t: float, window: float
):
    """Prometheus's extrapolation for increase(): the counter's rise, stretched to the whole window."""
    sampled = last_ts - first_ts
    average = sampled / gaps
    to_start = first_ts - (t - window)
    to_end = t - last_ts
    if raw > 0 and first >= 0:
        to_start = min(to_start, sampled * (first / raw))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return raw * (interval / sampled)


def _merge_same_labels(columns: list[Column]) -> list[Column]:
    """Series that lost their names may share labels; Prometheus refuses that when they overlap."""
    merged: dict[tuple, Column] = {}
    for column in columns:
        key = tuple(sorted(column.labels.items()))
        seen = merged.get(key)
        if seen is None:
            merged[key] = column
            continue
        for i, value in enumerate(column.values):
            if value is None:
                continue
            if seen.values[i] is not None:
                raise PromError(EXECUTION, "vector cannot contain metrics with the same labelset")
            seen.values[i] = value
    return list(merged.values())
