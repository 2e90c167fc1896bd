"""Benchmark: the metric chart and the list page's trend lines.

    .venv/bin/python bench/chart.py [--runs 50] [--views 30]

1. **Chart rendering**: 10 series x 720 hourly points (30 days), laid out by ``metrics.chart.build``
   and rendered by ``metrics/chart.html`` in process: median and p95 server time (target median
   <= 30 ms), and the size of the SVG alone and of the whole fragment (with its table), raw and gzipped
   (target SVG <= 25 KB gzipped).
2. **The list page with trend lines vs without**: a throwaway SQLite database, the sandbox served on
   loopback by a threaded WSGI server (the console's upstream, as in development), 50 metrics with
   history in one app, the list page (50 rows) fetched in process through the full middleware stack,
   signed in, with and without a Metrics API token, interleaved; medians and their ratio (target
   <= 1.3). The lines come after the page in one htmx request: that request is timed too, with its
   cache emptied ("cold") and within the cache's few minutes ("warm"), and its Metrics API requests
   are counted.

It prints figures and asserts nothing: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import threading
import time
from datetime import timedelta
from io import StringIO
from socketserver import ThreadingMixIn
from urllib.parse import unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import in_process
from in_process import setup_django

REPO = in_process.REPO
TMP = in_process.environment("bench-chart-")


def median_p95(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered):.1f} ms, p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} ms"


def bench_chart(runs: int) -> None:
    from django.template import loader

    from metrics_ui import upstream
    from metrics_ui.metrics import chart

    choice = chart.Choice("30d", "hourly")
    end = int(time.time()) // 3600 * 3600
    start = end - 30 * 86400 + 3600
    series = tuple(
        upstream.Series(
            (("__name__", "hourly_bench"), ("app_id", "appID1"), ("app_version", f"1.{i}.0")),
            tuple((start + h * 3600, float(1000 + 400 * i + (h * 37 + i * 11) % 250)) for h in range(720)),
        )
        for i in range(10)
    )
    template = loader.get_template("metrics/chart.html")
    timings, cpu, html = [], [], ""
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        drawn = chart.build("bench_metric", series, choice, start, end)
        html = template.render({"chart_state": "ready", "chart": drawn})
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    print(
        f"Chart, 10 series x 720 points (build + template render, in process; load {os.getloadavg()[0]:.1f})"
    )
    print(f"  server time: {median_p95(timings)}   (target median <= 30 ms)")
    print(f"  CPU time of this process: {median_p95(cpu)}")
    for label, text in (("SVG alone", svg), ("whole fragment with its table", html)):
        raw = text.encode()
        print(f"  {label}: {len(raw) / 1024:.1f} KB raw, {len(gzip.compress(raw, 6)) / 1024:.1f} KB gzipped")
    print("  (target: SVG <= 25 KB gzipped)")


def range_query_sum(metric, suffix: str) -> float:
    """The upstream module's own counter (or histogram sum) for Metrics API range queries."""
    return sum(
        sample.value
        for family in metric.collect()
        for sample in family.samples
        if sample.name.endswith(suffix) and sample.labels["endpoint"] == "/api/v1/query_range"
    )


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve_sandbox():
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), _ThreadingServer, _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{server.server_port}/custom-metrics"
    return server


def bench_list(views: int) -> None:
    import json

    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from metrics_ui import upstream
    from metrics_ui.models import ApiToken, User
    from sandbox.models import CustomMetric

    serve_sandbox()
    out = StringIO()
    call_command("sandbox_seed", "--json", stdout=out)
    seed = json.loads(out.getvalue().strip().splitlines()[-1])
    api = upstream.Client(seed["token"], "sandbox")
    existing = {m.name for m in api.list_metrics("appID2")}
    for i in range(50):
        if f"bench_metric_{i:02d}" not in existing:
            body = {
                "name": f"bench_metric_{i:02d}",
                "metric": "sessions_total",
                "group_by": ["app_version"],
                "time_granularity": ["hourly"],
                "data_destination": ["metrics_api"],
            }
            api.create_metric("appID2", body)
    CustomMetric.objects.filter(name__startswith="bench_metric_").update(
        created_at=timezone.now() - timedelta(days=10)
    )
    user = User.objects.create_user("bench", role=User.Role.VIEWER)
    token = ApiToken(user=user, label="Apps", region="sandbox")
    token.set_token(seed["token"])
    token.save()
    token.set_apps(["appID2"])
    client = Client()
    client.force_login(user)
    url = "/apps/appID2/"
    trends_url = "/apps/appID2/trends/"

    def charts_token(on: bool) -> None:
        ApiToken.objects.filter(user=user, kind=ApiToken.Kind.METRICS_API).delete()
        if on:
            metrics = ApiToken(user=user, label="Charts", region="sandbox", kind=ApiToken.Kind.METRICS_API)
            metrics.set_token(seed["metrics_api_token"])
            metrics.save()

    def query_ranges() -> float:
        return range_query_sum(upstream.REQUESTS_TOTAL, "_total")

    for on in (False, True):  # warm both paths (connections, templates)
        charts_token(on)
        client.get(url)

    def upstream_seconds() -> float:
        return range_query_sum(upstream.REQUEST_SECONDS, "_sum")

    # The page itself (it only names the rows' series), then the one request that draws the lines:
    # "cold" with the lines' cache emptied, "warm" within the cache's few minutes (paging back, re-sorting).
    runs = ("without", "with", "lines cold", "lines warm")
    timings: dict[str, list[float]] = {run: [] for run in runs}
    requests, waited, series = 0.0, 0.0, ""
    for _ in range(views):
        for run in runs:
            charts_token(run != "without")
            if run == "lines cold":
                cache.clear()
            before, before_wait = query_ranges(), upstream_seconds()
            began = time.perf_counter()
            if run.startswith("lines"):
                response = client.get(trends_url, {"series": series}, HTTP_HX_REQUEST="true")
            else:
                response = client.get(url)
            timings[run].append((time.perf_counter() - began) * 1000)
            if run == "with":
                assert query_ranges() == before, "the page itself asks the Metrics API nothing"
                series = unquote(re.search(r'series=([^"]+)"', response.content.decode()).group(1))
            if run == "lines cold":
                requests += query_ranges() - before
                waited += upstream_seconds() - before_wait
                assert response.content.count(b'class="sparkline"') >= 50, "expected 50 trend lines"
    without = statistics.median(timings["without"])
    print(
        f"List page, 50 rows, {views} interleaved views each (sandbox on loopback in this process, "
        f"DEBUG={settings.DEBUG}, load {os.getloadavg()[0]:.1f})"
    )
    for run in runs:
        ratio = statistics.median(timings[run]) / without
        target = "   (target <= 1.3)" if run == "with" else ""
        print(f"  {run:>10}: {median_p95(timings[run])}, against the page without: {ratio:.2f}{target}")
    print(f"  the lines' request, cold: {requests / views:.2f} Metrics API requests each, of which")
    print(f"  {waited / views * 1000:.1f} ms (mean) waiting for the sandbox's answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--views", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    bench_chart(args.runs)
    bench_list(args.views)


if __name__ == "__main__":
    main()
