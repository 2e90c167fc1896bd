"""Does a console worker's memory stay flat? Its RSS after 1,000 and after 20,000 requests.

    .venv/bin/python bench/memory.py [--requests 20000] [--sqlite] [--no-migrations]

The console runs as in production (gunicorn, 2 workers) against an upstream sandbox in its own
instance (see servers.py). wrk (10 signed-in users on loopback) requests the metric list page,
the console's heaviest read, until the console's own /metrics count reaches each mark; the RSS of
each worker is then read from /proc. Target: after 20,000 within 10% of after 1,000. Prints
figures only.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests
from servers import add_arguments, console_and_upstream, rss_kib

REPORTER = str(Path(__file__).with_name("wrk_report.lua"))


def requests_served(url: str) -> int:
    """The console's own count of list-page requests, all workers added up (Prometheus multiprocess)."""
    text = requests.get(f"{url}/metrics", timeout=30).text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("console_http_requests_total{") and re.search(r'view="metric_list"', line)
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000, help="the second mark (default 20000)")
    parser.add_argument("--first", type=int, default=1_000, help="the first mark (default 1000)")
    add_arguments(parser)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk).")

    marks = {}
    started = time.monotonic()
    with console_and_upstream(args) as run:
        console = run["console"]
        workers = console.worker_pids()
        load = subprocess.Popen(
            [
                "wrk", "--threads=2", "--connections=10", "--duration=3600s", "--timeout=30s",
                "--script", REPORTER, f"{console.url}/apps/appID1/",
            ],
            stdout=subprocess.DEVNULL,
            env={**os.environ, "THINK_MS": "", "COOKIES": ",".join(run["cookies"])},
        )  # fmt: skip
        try:
            for mark in (args.first, args.requests):
                while (served := requests_served(console.url)) < mark:
                    time.sleep(0.25)
                marks[mark] = (served, {pid: rss_kib(pid) for pid in workers})
                sizes = ", ".join(f"worker {pid} {kib / 1024:.1f} MiB" for pid, kib in marks[mark][1].items())
                print(f"after {served:,} requests ({time.monotonic() - started:.0f} s): {sizes}", flush=True)
        finally:
            load.send_signal(signal.SIGINT)
            load.wait(timeout=30)
        assert console.worker_pids() == workers, "a worker was replaced during the run"

    (_, first), (_, last) = marks[args.first], marks[args.requests]
    print(f"\nConsole: 2 gunicorn workers x {args.threads} threads; {run['database']}; wrk, 10 users.")
    first_label, last_label = f"MiB @ {args.first:,}", f"MiB @ {args.requests:,}"
    print(f"{'worker':>8} {first_label:>14} {last_label:>14} {'change':>8}")
    for pid in workers:
        change = (last[pid] - first[pid]) / first[pid] * 100
        print(f"{pid:>8} {first[pid] / 1024:>14.1f} {last[pid] / 1024:>14.1f} {change:>+7.1f}%")
    total_first, total_last = sum(first.values()), sum(last.values())
    change = (total_last - total_first) / total_first * 100
    verdict = "yes" if abs(change) <= 10 else "NO"
    print(f"{'all':>8} {total_first / 1024:>14.1f} {total_last / 1024:>14.1f} {change:>+7.1f}%", end="")
    print(f"   within 10%? {verdict}")


if __name__ == "__main__":
    main()
