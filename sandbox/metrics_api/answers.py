"""What each endpoint answers: the ``data`` of Prometheus's success envelope, from the request's
parameters and the organization's series."""

from __future__ import annotations

import re
import time

import promql_parser as pp
from django.http import HttpRequest

from sandbox.metrics_api import params, promql, series
from sandbox.metrics_api.envelope import BAD_DATA, PromError, number, timestamp

_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _order(item: dict) -> list:
    return sorted(item["metric"].items())


def _query(request: HttpRequest) -> pp.Expr:
    return promql.parse(params.value(request, "query") or "")


def query_range(request: HttpRequest, organization_id: int) -> dict:
    window = params.query_range(request)
    expr = _query(request)
    now = time.time()
    times = window.times()
    columns = promql.Evaluator(series.for_organization(organization_id, now), times, now).evaluate(expr)
    result = []
    for column in columns:
        points = [
            [timestamp(t), number(v)] for t, v in zip(times, column.values, strict=True) if v is not None
        ]
        if points:
            result.append({"metric": column.labels, "values": points})
    return {"resultType": "matrix", "result": sorted(result, key=_order)}


def query(request: HttpRequest, organization_id: int) -> dict:
    now = time.time()
    at = params.timestamp(request, "time", default=now)
    expr = _query(request)
    evaluator = promql.Evaluator(series.for_organization(organization_id, now), [at], now)
    if isinstance(promql.unwrap(expr), pp.MatrixSelector):
        raw = evaluator.raw(promql.unwrap(expr), at)
        result = [
            {"metric": labels, "values": [[timestamp(ts), number(v)] for ts, v in points]}
            for labels, points in raw
        ]
        return {"resultType": "matrix", "result": sorted(result, key=_order)}
    result = [
        {"metric": c.labels, "value": [timestamp(at), number(c.values[0])]}
        for c in evaluator.evaluate(expr)
        if c.values[0] is not None
    ]
    return {"resultType": "vector", "result": sorted(result, key=_order)}


def _matched(request: HttpRequest, organization_id: int) -> list[series.Series]:
    now = time.time()
    visible = series.for_organization(organization_id, now)
    selectors = params.values(request, "match[]")
    if not selectors:
        return visible
    evaluator = promql.Evaluator(visible, [now], now)
    chosen: dict[int, series.Series] = {}
    for text in selectors:
        expr = promql.parse(text)
        if not isinstance(expr, pp.VectorSelector):
            raise PromError(BAD_DATA, f'invalid parameter "match[]": {text[:80]} is not a series selector')
        chosen.update((id(s), s) for s in evaluator.select(expr))
    return list(chosen.values())


def label_names(request: HttpRequest, organization_id: int) -> list[str]:
    return sorted({name for s in _matched(request, organization_id) for name in s.labels})


def label_values(request: HttpRequest, organization_id: int, name: str) -> list[str]:
    if not _LABEL_NAME.fullmatch(name):
        raise PromError(BAD_DATA, f'invalid label name: "{name[:80]}"')
    return sorted({s.labels[name] for s in _matched(request, organization_id) if name in s.labels})
