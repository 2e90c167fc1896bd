"""Benchmark: time to last byte under ``manage.py runserver`` (what ``bin/run`` starts), small and large.

    .venv/bin/python bench/runserver_latency.py [--metrics 1000] [--runs 30]

What it does, on loopback with a throwaway SQLite database:

1. Creates the schema, seeds the sandbox and the demo user, then starts ``manage.py runserver
   --noreload`` (the project's command, whichever app provides it) on a free port, serving both the
   console and its sandbox, as ``bin/run`` does.
2. Creates ``--metrics`` metrics in ``appID2`` through the sandbox API.
3. Over ONE kept-alive ``requests.Session`` each, times ``--runs`` GETs of: ``/healthz`` (a few
   bytes), the sandbox's list of those metrics (about 300 KB of JSON for 1,000) and the console's
   list page of them (signed in). Prints the median time to last byte of each, next to the median
   time the server itself measured (its access log's ``duration_ms``).

The gap between the two columns is what the connection costs. Nagle's algorithm holding back the
body that follows the separately written headers until the client's delayed ACK (~40 ms on Linux)
shows as a gap of about 40 ms. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from list_page import (
    APP_ID,
    REPO,
    create_metrics,
    free_port,
    prepare_database,
    sign_in,
    timed_get,
    wait_until_up,
)


def server_durations(log: Path, offset: int, path: str) -> list[float]:
    """The ``duration_ms`` the server logged for ``path`` after ``offset`` bytes of its log."""
    with log.open() as f:
        f.seek(offset)
        lines = f.read().splitlines()
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("logger") == "metrics_ui.access" and record.get("path") == path:
            found.append(record["duration_ms"])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-runserver-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox_api = f"{base}/custom-metrics"
    log = workdir / "runserver.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "CONSOLE_MODE": "development",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",  # parsed below for the server's own timings
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CACHE_URL": "locmemcache://bench",
        "SANDBOX_BASE_URL": sandbox_api,
        "PYTHONPATH": str(REPO),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    print(f"Preparing a database in {workdir} ...", flush=True)
    token = prepare_database(env)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"{base}/healthz", server)
        print(f"Creating {args.metrics} metrics in {APP_ID} ...", flush=True)
        create_metrics(sandbox_api, token, args.metrics)
        console = sign_in(base)
        api = __import__("requests").Session()
        api.headers["Authorization"] = f"Bearer {token}"
        cases = [
            ("small: GET /healthz", api, "/healthz", f"{base}/healthz"),
            (
                "large: sandbox list (JSON)",
                api,
                f"/custom-metrics/api/v1/app/{APP_ID}/custom-metrics",
                f"{sandbox_api}/api/v1/app/{APP_ID}/custom-metrics",
            ),
            ("console list page", console, f"/apps/{APP_ID}/", f"{base}/apps/{APP_ID}/"),
        ]
        print(f"\n{'request':30} {'bytes':>8} {'client ms':>10} {'server ms':>10} {'gap ms':>8}")
        for label, session, path, url in cases:
            for _ in range(3):  # warm-up: imports, templates, the kept-alive connection itself
                timed_get(session, url)
            offset = log.stat().st_size
            times, size = [], 0
            for _ in range(args.runs):
                elapsed, response = timed_get(session, url)
                times.append(elapsed * 1000)
                size = len(response.content)
            time.sleep(0.3)  # let the last log lines reach the file
            client = statistics.median(times)
            server_side = server_durations(log, offset, path)
            inside = statistics.median(server_side) if server_side else float("nan")
            print(f"{label:30} {size:>8} {client:>10.1f} {inside:>10.1f} {client - inside:>8.1f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
