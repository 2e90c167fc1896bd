"""Benchmark: the sandbox Metrics API's PromQL evaluation over synthetic series.

    .venv/bin/python bench/metrics_api_eval.py [--runs 50]

Builds 10 hourly and then 10 five-minute series with a month of history in memory (no database, no
HTTP) and times parse + evaluation of 720 steps (30 days at 1 h) for a plain selector, ``sum by``,
``topk``, ``sum_over_time`` and ``increase``; prints the median and p95 of each (target: well under
100 ms for 10 series x 720 points; the five-minute range functions read 12 points per step).
It prints figures and asserts nothing: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

import django

django.setup()

from sandbox.metrics_api import promql  # noqa: E402
from sandbox.metrics_api.series import Series  # noqa: E402

QUERIES = (
    "{name}",
    "sum by (country) ({name})",
    "topk(3, {name})",
    "sum_over_time({name}[1h])",
    "increase({name}[3h])",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    now = time.time()
    end = now - 86400
    times = [end - (719 - i) * 3600 for i in range(720)]
    print(f"10 series x {len(times)} steps (30 days at 1 h), {runs} runs each")
    for name, step in (("hourly_bench", 3600), ("five_minute_bench", 300)):
        series = [
            Series(
                labels={"__name__": name, "app_id": "bench", "country": f"C{i % 5}", "n": str(i)},
                step=step,
                delay=300,
                first=int(now - 31 * 86400) // 3600 * 3600,
                seed=1000 + i,
                per_hour=200,
            )
            for i in range(10)
        ]
        for query in QUERIES:
            query = query.format(name=name)
            spent = []
            for _ in range(runs):
                began = time.perf_counter()
                promql.Evaluator(series, times, now).evaluate(promql.parse(query))
                spent.append((time.perf_counter() - began) * 1000)
            p95 = statistics.quantiles(spent, n=20)[-1]
            print(f"  {query:<44} median {statistics.median(spent):6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
