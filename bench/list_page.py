"""Benchmark: the console's metric list page against the same GET made directly to the sandbox.

    .venv/bin/python bench/list_page.py [--metrics 1000] [--runs 40] [--views 100]
    .venv/bin/python bench/list_page.py --postgres postgres://postgres@127.0.0.1:5432 --redis redis://127.0.0.1:6379/9

What it does, all on loopback with a throwaway SQLite database (or PostgreSQL database, dropped after):

1. Creates the schema, seeds the sandbox and the demo user (``demo_setup``), then starts two gunicorn
   servers from this repository: a *sandbox* server (standing in for Embrace, one gthread worker,
   keep-alive 30 s, an access log that records each request's client port) and a *console* server
   (the project's own ``gunicorn.conf.py``, ``WEB_CONCURRENCY`` workers) whose upstream is the first.
2. Creates ``--metrics`` metrics in ``appID2`` through the sandbox API (realistic, varied definitions).
3. Signs in to the console and times ``GET /apps/appID2/`` (the full list page: one upstream call,
   search/sort/paginate, 50 rows described in words) and the upstream's ``GET .../custom-metrics``
   with the bearer token, interleaved, ``--runs`` times each after a warm-up, over keep-alive
   connections, with the htmx fragment of the same page (``HX-Target: div#metric-table``) and a search
   fragment in the same rotation. Prints the medians, the ratio (the target: at most 1.2), the page's
   p95/p50 and the fragment's median against the full page's. Also in the rotation, the floor: the
   console's ``/healthz`` and its signed-in token page, which call no upstream; a list page can't cost
   less than the direct GET plus that.
4. Makes ``--views`` more page views and counts, in the sandbox's access log, the upstream requests
   they caused and the distinct client ports (= TCP connections the console opened) among them
   (target: at most one new connection per console worker per 100 page views).

It prints figures and asserts nothing: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
APP_ID = "appID2"  # seeded empty, so it holds exactly the benchmark's metrics

SANDBOX_GUNICORN_CONFIG = """
worker_class = "gthread"
workers = 1
threads = 4
keepalive = 30
timeout = 60
control_socket_disable = True
accesslog = {accesslog!r}
access_log_format = '%({{REMOTE_PORT}}e)s "%(r)s" %(s)s %(D)s'
errorlog = {errorlog!r}
"""

# --profile: the project's gunicorn.conf.py plus cProfile around each request of the single worker.
PROFILE_GUNICORN_CONFIG = """
exec(compile(open({config!r}).read(), {config!r}, "exec"))
import cProfile

_profile = cProfile.Profile()


def pre_request(worker, req):
    if req.path.startswith("/apps/"):
        _profile.enable()


def post_request(worker, req, environ, resp):
    _profile.disable()


def worker_exit(server, worker):
    _profile.dump_stats({out!r})
"""

# Definitions the 1,000 metrics cycle through, so the page describes real filters and group-bys.
SHAPES = (
    {"metric": "sessions_total", "group_by": ["app_version"], "time_granularity": ["hourly", "daily"]},
    {
        "metric": "crashes_total",
        "filters": {
            "op": "and",
            "children": [
                {"field_op": "like", "key": "msg", "val": "OutOfMemory"},
                {"field_op": "gte", "key": "os_major_version", "val": 15},
            ],
        },
        "group_by": ["app_version", "os_major_version"],
    },
    {
        "metric": "network_requests_total",
        "filters": {
            "op": "and",
            "children": [
                {"field_op": "eq", "key": "domain", "val": "api.example-shop.com"},
                {"field_op": "in", "key": "method", "val": ["GET", "POST"]},
            ],
        },
        "group_by": ["top_n_path"],
        "data_destination": ["metrics_api", "datadog"],
    },
    {
        "metric": "sessions_total",
        "filters": {
            "op": "and",
            "children": [
                {
                    "field_op": "eq",
                    "key": "session_property",
                    "val": {"property_key": "plan", "property_values": ["pro", "enterprise"]},
                }
            ],
        },
        "group_by": ["session_property.plan", "country"],
        "time_granularity": ["daily"],
    },
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server for {url} exited with {process.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"server for {url} did not start")


def prepare_database(env: dict) -> str:
    """Schema (without migration files, like the tests), sandbox seed and demo user; returns the token."""
    script = (
        "import django, json, io\n"
        "django.setup()\n"
        "from django.apps import apps\n"
        "from django.conf import settings\n"
        "from django.core.management import call_command\n"
        "settings.MIGRATION_MODULES = {a.label: None for a in apps.get_app_configs()}\n"
        "call_command('migrate', run_syncdb=True, verbosity=0)\n"
        "call_command('demo_setup', stdout=io.StringIO())\n"
        "out = io.StringIO(); call_command('sandbox_seed', '--json', stdout=out)\n"
        "print(json.loads(out.getvalue().strip().splitlines()[-1])['token'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"preparing the database failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def create_postgres_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server.rstrip('/')}/{name}"


def drop_postgres_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_metrics(sandbox_api: str, token: str, count: int) -> None:
    url = f"{sandbox_api}/api/v1/app/{APP_ID}/custom-metrics"
    local = threading.local()

    def create(i: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {token}"
        body = {"name": f"bench_metric_{i:05d}", **SHAPES[i % len(SHAPES)]}
        response = local.session.post(url, json=body, timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"creating metric {i} failed: {response.status_code} {response.text[:200]}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(create, range(count)))


def sign_in(console: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{console}/login/", timeout=10)
    csrf = next(value for name, value in session.cookies.items() if "csrftoken" in name)
    response = session.post(
        f"{console}/login/",
        data={"username": "demo", "password": "demo-password", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{console}/login/"},
        timeout=10,
    )
    if "/login/" in response.url:
        raise SystemExit("signing in to the console failed")
    return session


def timed_get(session: requests.Session, url: str, **kwargs) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = session.get(url, timeout=30, **kwargs)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return elapsed, response


def upstream_log_since(log: Path, offset: int) -> list[tuple[str, str, float]]:
    """(client port, request line, ms) of each upstream list request logged after ``offset`` bytes."""
    with log.open() as f:
        f.seek(offset)
        lines = f.read().splitlines()
    found = []
    for line in lines:
        match = re.match(r'(\d+) "(GET [^"]*/custom-metrics[^"]*)" \d+ (\d+)', line)
        if match:
            found.append((match.group(1), match.group(2), int(match.group(3)) / 1000))
    return found


def server_side_breakdown(log: Path, offset: int, app_id: str) -> tuple[float, float]:
    """Medians of the console's request time and of its upstream call, from its JSON log lines."""
    with log.open() as f:
        f.seek(offset)
        lines = f.read().splitlines()
    whole, upstream_call = [], []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("logger") == "metrics_ui.access" and record.get("path") == f"/apps/{app_id}/":
            whole.append(record["duration_ms"])
        elif record.get("logger") == "metrics_ui.upstream" and record.get("app_id") == app_id:
            upstream_call.append(record["duration_ms"])
    if not whole or not upstream_call:
        return 0.0, 0.0
    return statistics.median(whole), statistics.median(upstream_call)


def show(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<42} {value:>10}   {note}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--views", type=int, default=100)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="use a throwaway database on this PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432) "
        "instead of SQLite, as in production",
    )
    parser.add_argument(
        "--redis", metavar="URL", help="a Redis cache (e.g. redis://127.0.0.1:6379/9), as in production"
    )
    parser.add_argument("--console-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run one console worker with one thread under cProfile and write its stats to FILE "
        "(read them with: python -m pstats FILE); the timings are then not comparable",
    )
    args = parser.parse_args()
    if args.profile:
        args.console_workers = 1

    workdir = Path(tempfile.mkdtemp(prefix="bench-list-page-"))
    sandbox_port, console_port = free_port(), free_port()
    sandbox_api = f"http://127.0.0.1:{sandbox_port}/custom-metrics"
    console = f"http://127.0.0.1:{console_port}"
    access_log = workdir / "sandbox-access.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "CONSOLE_MODE": "development",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CACHE_URL": "locmemcache://bench",
        "SANDBOX_BASE_URL": sandbox_api,
        "PYTHONPATH": str(REPO),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    (workdir / "sandbox.gunicorn.py").write_text(
        SANDBOX_GUNICORN_CONFIG.format(accesslog=str(access_log), errorlog=str(workdir / "sandbox-error.log"))
    )

    if args.redis:
        env["CACHE_URL"] = args.redis
    if args.postgres:
        env["DATABASE_URL"] = create_postgres_database(args.postgres, workdir.name.replace("-", "_"))
    print(f"Preparing a database ({env['DATABASE_URL'].split(':')[0]}) in {workdir} ...", flush=True)
    token = prepare_database(env)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    sandbox = subprocess.Popen(
        [
            gunicorn,
            "dashboard.wsgi",
            "-c",
            str(workdir / "sandbox.gunicorn.py"),
            "-b",
            f"127.0.0.1:{sandbox_port}",
        ],
        env=env,
        cwd=REPO,
    )
    console_env = {
        **env,
        "WEB_CONCURRENCY": str(args.console_workers),
        "GUNICORN_BIND": f"127.0.0.1:{console_port}",
        "LOG_LEVEL": "INFO",  # as in production; its JSON lines give the server-side breakdown
        "PYTHONUNBUFFERED": "1",  # ...which is read while it runs
    }
    console_config = REPO / "gunicorn.conf.py"
    if args.profile:
        console_config = workdir / "profile.gunicorn.py"
        console_config.write_text(
            PROFILE_GUNICORN_CONFIG.format(
                config=str(REPO / "gunicorn.conf.py"), out=str(Path(args.profile).resolve())
            )
        )
        console_env["GUNICORN_THREADS"] = "1"
    console_log = (workdir / "console.log").open("w")
    console_server = subprocess.Popen(
        [gunicorn, "dashboard.wsgi", "-c", str(console_config)],
        env=console_env,
        cwd=REPO,
        stdout=console_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"{sandbox_api}/api/v1/app/{APP_ID}/custom-metrics", sandbox)
        wait_until_up(f"{console}/login/", console_server)
        print(f"Creating {args.metrics} metrics in {APP_ID} through the sandbox API ...", flush=True)
        started = time.perf_counter()
        create_metrics(sandbox_api, token, args.metrics)
        print(f"  done in {time.perf_counter() - started:.1f} s")

        browser = sign_in(console)
        direct = requests.Session()
        direct.headers["Authorization"] = f"Bearer {token}"
        page_url = f"{console}/apps/{APP_ID}/"
        list_url = f"{sandbox_api}/api/v1/app/{APP_ID}/custom-metrics"

        for _ in range(5):  # warm-up: imports, template caches, keep-alive connections
            timed_get(browser, page_url)
            timed_get(direct, list_url)
        _, page = timed_get(browser, page_url)
        if "bench_metric_00000" not in page.text:
            raise SystemExit("the console's list page doesn't show the benchmark metrics")
        _, listed = timed_get(direct, list_url)
        if len(listed.json()["results"]) != args.metrics:
            raise SystemExit("the sandbox doesn't hold the expected number of metrics")

        fragment_headers = {"HX-Request": "true", "HX-Target": "div#metric-table"}
        console_times, direct_times, table_times, fragment_times = [], [], [], []
        health_times, tokens_times = [], []  # the floor: the same server, no upstream call
        for _ in range(args.runs):
            health_times.append(timed_get(browser, f"{console}/healthz")[0])
            tokens_times.append(timed_get(browser, f"{console}/tokens/")[0])
            console_times.append(timed_get(browser, page_url)[0])
            direct_times.append(timed_get(direct, list_url)[0])
            table_times.append(timed_get(browser, page_url, headers=fragment_headers)[0])
            fragment_times.append(
                timed_get(
                    browser,
                    page_url,
                    params={"q": "bench_metric_00", "sort": "-name"},
                    headers=fragment_headers,
                )[0]
            )
        console_median = statistics.median(console_times)
        direct_median = statistics.median(direct_times)

        offset = access_log.stat().st_size
        console_log.flush()
        console_offset = (workdir / "console.log").stat().st_size
        for _ in range(args.views):
            timed_get(browser, page_url)
        time.sleep(0.5)  # let the logs flush
        calls = upstream_log_since(access_log, offset)
        ports = {port for port, _, _ in calls}
        # A port already seen before these views is a connection kept alive from earlier, not a new one.
        earlier = {port for port, _, _ in upstream_log_since(access_log, 0)[: -len(calls) or None]}
        connections, new_connections = len(ports), len(ports - earlier)
        whole, upstream_call = server_side_breakdown(workdir / "console.log", console_offset, APP_ID)

        fragment_median = statistics.median(fragment_times)
        table_median = statistics.median(table_times)
        p95 = statistics.quantiles(console_times, n=20)[-1]
        print()
        print(f"List page with {args.metrics} metrics, median of {args.runs} runs each (loopback, gunicorn):")
        show(f"console GET /apps/{APP_ID}/ (full page)", f"{console_median * 1000:.1f} ms")
        show("sandbox GET .../custom-metrics (direct)", f"{direct_median * 1000:.1f} ms")
        show("ratio console / direct", f"{console_median / direct_median:.2f}", "target <= 1.2")
        show(
            "console page p95 / p50", f"{p95 / console_median:.2f}", f"p95 {p95 * 1000:.1f} ms; target <= 1.3"
        )
        show(
            "console htmx table fragment (same page)",
            f"{table_median * 1000:.1f} ms",
            f"{table_median / console_median:.2f} of the full page",
        )
        show(
            "console htmx search fragment",
            f"{fragment_median * 1000:.1f} ms",
            "q=bench_metric_00, sort -name",
        )
        health, tokens = statistics.median(health_times), statistics.median(tokens_times)
        show(
            "console GET /healthz (no session, no upstream)",
            f"{health * 1000:.1f} ms",
            f"direct + this = ratio {(direct_median + health) / direct_median:.2f}: a page's least",
        )
        show(
            "console GET /tokens/ (signed in, no upstream)",
            f"{tokens * 1000:.1f} ms",
            f"direct + this = ratio {(direct_median + tokens) / direct_median:.2f}",
        )
        print(f"  load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if whole and upstream_call:
            print(f"  Where the console's time goes (server side, median of {args.views} page views):")
            show("  whole request in the console", f"{whole:.1f} ms")
            show("  of which the upstream call", f"{upstream_call:.1f} ms", "HTTP + reading + JSON decode")
            show(
                "  (the sandbox's own time for that call)",
                f"{statistics.median(t for _, _, t in calls):.1f} ms",
            )
            show("  of which the console's own work", f"{whole - upstream_call:.1f} ms")
        print()
        print(f"Upstream use over {args.views} more page views ({args.console_workers} console workers):")
        show("upstream requests", str(len(calls)), f"target {args.views}, one per page view")
        show("upstream TCP connections used", str(connections))
        show("of which newly opened", str(new_connections), "target <= 1 per worker")
    finally:
        for process in (console_server, sandbox):
            process.terminate()
        for process in (console_server, sandbox):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        console_log.close()
        if args.postgres:
            drop_postgres_database(args.postgres, env["DATABASE_URL"].rsplit("/", 1)[1])


if __name__ == "__main__":
    main()
