"""Benchmark: the sandbox's list endpoint alone, in process, through Django's test client.

    .venv/bin/python bench/sandbox_list.py [--metrics 1000] [--runs 50]

Creates a throwaway SQLite database (or uses DATABASE_URL if set), seeds the sandbox, creates
``--metrics`` metrics in ``appID2`` through the API (the shapes bench/list_page.py uses), then times
``GET /custom-metrics/api/v1/app/appID2/custom-metrics`` ``--runs`` times after a warm-up, interleaved
with building the same body from the stored JSON text (what the endpoint does) and from model objects
(how it was built before), and prints medians, fastest runs, the body size and whether both ways give
the same document. It asserts nothing: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.list_page import SHAPES  # noqa: E402  (the same varied definitions as the page benchmark)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="sandbox-list-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    # The access log line per request would be timed too.
    logging.disable(logging.CRITICAL)
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.http import JsonResponse
    from django.test import Client

    from sandbox.models import App, CustomMetric

    settings.MIGRATION_MODULES = {a.label: None for a in apps.get_app_configs()}
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", run_syncdb=True, verbosity=0)
    out = io.StringIO()
    call_command("sandbox_seed", "--json", stdout=out)
    token = json.loads(out.getvalue().strip().splitlines()[-1])["token"]

    client = Client(headers={"Authorization": f"Bearer {token}"})
    url = "/custom-metrics/api/v1/app/appID2/custom-metrics"
    for i in range(args.metrics):
        body = {"name": f"bench_metric_{i:05d}", **SHAPES[i % len(SHAPES)]}
        response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content

    app = App.objects.get(app_id="appID2")

    def from_objects() -> bytes:
        # How the list was built before: a model object per metric, its JSON columns decoded and
        # encoded again. Timed alongside, so a busy machine slows both alike.
        return JsonResponse(
            {"results": [m.as_json() for m in app.custom_metrics.select_related("app")]}
        ).content

    def from_stored_json() -> bytes:
        return CustomMetric.objects.list_json(app).encode()

    def endpoint() -> bytes:
        response = client.get(url)
        assert response.status_code == 200
        return response.content

    timings = {from_objects: [], from_stored_json: [], endpoint: []}
    for _ in range(5):
        for build in timings:
            build()
    for _ in range(args.runs):
        for build, times in timings.items():
            start = time.perf_counter()
            build()
            times.append((time.perf_counter() - start) * 1000)
    same = json.loads(from_objects()) == json.loads(endpoint())
    identical = from_objects() == endpoint()
    print(f"sandbox list, {args.metrics} metrics, {args.runs} runs each, interleaved (median / fastest)")
    for build, label in (
        (endpoint, "GET through the test client (whole request)"),
        (from_stored_json, "list body from the stored JSON text"),
        (from_objects, "list body from model objects (before)"),
    ):
        times = timings[build]
        print(f"  {label:<46} {statistics.median(times):6.1f} / {min(times):5.1f} ms")
    print(f"  body {len(endpoint()) / 1024:.1f} KB")
    print(f"  same document both ways: {'yes' if same else 'NO'}; same bytes: {'yes' if identical else 'no'}")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
