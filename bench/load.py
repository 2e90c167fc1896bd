"""Throughput and latency of the metric list page at 1, 10 and 50 concurrent users.

    .venv/bin/python bench/load.py [--seconds 10] [--sqlite] [--no-migrations]

The console runs as in production (gunicorn, 2 workers, ``gunicorn.conf.py``) against an upstream
sandbox in its own gunicorn instance (see servers.py); wrk, a separate process on loopback,
plays the users, each one signed in (50 sessions of the demo user, taken in turn). The direct
sandbox GET (the upstream call the list page makes) is measured in the same run as the reference.

Two kinds of user, both printed:

* **closed loop**: each user asks again the moment an answer arrives (wrk's default): a stress
  figure, 50 such users are far more traffic than 50 people;
* **people**: each user waits 0.5-1.5 s between clicks (wrk ``delay()``), still faster than a
  person reading a list.

The target (p95 at 50 users under 4 x the p50 of one user alone) is reported for both. Prints
figures only; nothing here passes or fails a build.
"""

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

from servers import add_arguments, console_and_upstream

LEVELS = (1, 10, 50)
THINK_MS = "500-1500"
REPORTER = str(Path(__file__).with_name("wrk_report.lua"))


def wrk(url: str, users: int, seconds: int, headers: list[str], think: str = "", cookies: str = "") -> dict:
    command = ["wrk", f"--threads={min(users, 2)}", f"--connections={users}", f"--duration={seconds}s"]
    command += ["--timeout=30s", "--script", REPORTER]
    for header in headers:
        command += ["--header", header]
    env = {**os.environ, "THINK_MS": think, "COOKIES": cookies}
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("{")))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each level (default 10)")
    add_arguments(parser)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk).")

    load_before = os.getloadavg()[0]
    with console_and_upstream(args) as run:
        console, upstream = run["console"], run["upstream"]
        page = f"{console.url}/apps/appID1/"
        direct = f"{upstream.url}/custom-metrics/api/v1/app/appID1/custom-metrics"
        cookies = ",".join(run["cookies"])
        direct_headers = [f"Authorization: Bearer {run['token']}"]
        # Warm-up: imports, connection pools, template caches in every worker.
        wrk(page, 4, 3, [], cookies=cookies)
        wrk(direct, 4, 3, direct_headers)

        results = {}
        for users in LEVELS:
            results[("list page", "closed loop", users)] = wrk(page, users, args.seconds, [], cookies=cookies)
            results[("sandbox GET", "closed loop", users)] = wrk(direct, users, args.seconds, direct_headers)
        for users in LEVELS[1:]:
            results[("list page", "people", users)] = wrk(page, users, args.seconds, [], THINK_MS, cookies)
    load_after = os.getloadavg()[0]

    print(
        f"\nConsole: 2 gunicorn workers x {args.threads} threads; {run['database']}; {args.seconds} s per "
        f"level; wrk on loopback; {os.cpu_count()} CPUs, load average {load_before:.1f} before, "
        f"{load_after:.1f} after."
    )
    print(f"{'what':<12} {'users':<18} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for (what, kind, users), r in results.items():
        who = f"{users} {kind}" if kind == "closed loop" else f"{users} people"
        print(
            f"{what:<12} {who:<18} {r['rps']:>8.1f} {r['p50_us'] / 1000:>8.1f} {r['p95_us'] / 1000:>8.1f} "
            f"{r['p99_us'] / 1000:>8.1f} {r['errors']:>7}"
        )
    alone = results[("list page", "closed loop", 1)]["p50_us"]
    for kind in ("closed loop", "people"):
        p95 = results[("list page", kind, 50)]["p95_us"]
        verdict = "yes" if p95 < 4 * alone else "NO"
        print(
            f"List page, 50 users ({kind}): p95 {p95 / 1000:.1f} ms vs 4 x p50 of one user "
            f"{4 * alone / 1000:.1f} ms: under? {verdict}"
        )


if __name__ == "__main__":
    main()
