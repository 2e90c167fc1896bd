"""Benchmark: the sandbox's list endpoint alone, in process, through Django's test client.

    .venv/bin/python bench/sandbox_list.py [--metrics 1000] [--runs 50]

Creates a throwaway SQLite database (or uses DATABASE_URL if set), seeds the sandbox, creates
``--metrics`` metrics in ``appID2`` through the API (the shapes bench/list_page.py uses), then times
``GET /custom-metrics/api/v1/app/appID2/custom-metrics`` ``--runs`` times after a warm-up and prints
the median, the fastest and the body size. It asserts nothing: timings depend on the machine.
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
    from django.test import Client

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

    for _ in range(5):
        client.get(url)
    timings = []
    for _ in range(args.runs):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    size = len(response.content)
    print(f"sandbox list GET, {args.metrics} metrics, {args.runs} runs")
    print(f"  median   {statistics.median(timings):7.1f} ms")
    print(f"  fastest  {min(timings):7.1f} ms")
    print(f"  body     {size / 1024:7.1f} KB")


if __name__ == "__main__":
    main()
