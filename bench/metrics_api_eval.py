"""Benchmark: the sandbox Metrics API's PromQL evaluation over synthetic series.

    .venv/bin/python bench/metrics_api_eval.py [--runs 50]

Builds 10 five-minute series with a month of history in memory (no database, no HTTP) and times
parse + evaluation of 720 steps (30 days at 1 h) for a plain selector, ``sum by``, ``topk`` and
``sum_over_time``/``increase`` over 1 h; prints the median and p95 of each (target: well under 100 ms).
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
    "five_minute_bench",
    "sum by (country) (five_minute_bench)",
    "topk(3, five_minute_bench)",
    "sum_over_time(five_minute_bench[1h])",
    "increase(five_minute_bench[1h])",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    now = time.time()
    first = int(now - 31 * 86400) // 300 * 300
    series = [
        Series(
            labels={"__name__": "five_minute_bench", "app_id": "bench", "country": f"C{i % 5}", "n": str(i)},
            step=300,
            delay=300,
            first=first,
            seed=1000 + i,
            per_hour=200,
        )
        for i in range(10)
    ]
    end = now - 3600
    times = [end - (719 - i) * 3600 for i in range(720)]
    print(f"10 series x {len(times)} steps, {runs} runs each")
    for query in QUERIES:
        spent = []
        for _ in range(runs):
            began = time.perf_counter()
            promql.Evaluator(series, times, now).evaluate(promql.parse(query))
            spent.append((time.perf_counter() - began) * 1000)
        p95 = statistics.quantiles(spent, n=20)[-1]
        print(f"  {query:<40} median {statistics.median(spent):6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
