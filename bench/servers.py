"""What both benchmarks need: a production-like pair of gunicorn instances on loopback.

* the **upstream**: an instance serving the sandbox (the Custom Metrics API), 2 workers;
* the **console**: the instance under test, 2 workers, calling that upstream over HTTP.

They are separate processes on purpose: a console that called its own sandbox would spend its
own worker threads on both ends of each call, which is not how it runs against Embrace.
Both share a fresh PostgreSQL database (dropped at the end) and Redis, unless ``--sqlite``.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/8"

PREPARE = """
import json, django
from io import StringIO
from django.conf import settings
from django.core.management import call_command
django.setup()
if {no_migrations!r}:
    class NoMigrations(dict):
        def __contains__(self, app): return True
        def __getitem__(self, app): return None
    settings.MIGRATION_MODULES = NoMigrations()
call_command("migrate", run_syncdb=True, verbosity=0)
call_command("demo_setup", stdout=StringIO())
out = StringIO()
call_command("sandbox_seed", "--json", stdout=out)
print(out.getvalue().strip().splitlines()[-1])
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sqlite", action="store_true", help="SQLite and a local-memory cache instead")
    parser.add_argument(
        "--no-migrations",
        action="store_true",
        help="build the schema from the models (as pytest --no-migrations does) instead of migrating",
    )
    parser.add_argument("--threads", type=int, default=4, help="GUNICORN_THREADS of the console")
    parser.add_argument("--people", type=int, default=50, help="signed-in sessions the requests rotate over")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    def __init__(self, name: str, env: dict[str, str], port: int, workers: int, threads: int, logs: Path):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [GUNICORN, "dashboard.wsgi", "-c", "gunicorn.conf.py"],
            cwd=BASE_DIR,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": str(workers),
                "GUNICORN_THREADS": str(threads),
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not start; see {self.log.name}")

    def worker_pids(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def _sign_in(console_url: str) -> str:
    session = requests.Session()
    session.get(f"{console_url}/login/", timeout=30)
    session.post(
        f"{console_url}/login/",
        data={
            "csrfmiddlewaretoken": session.cookies["console_csrftoken"],
            "username": "demo",
            "password": "demo-password",
        },
        timeout=30,
    )
    assert "Sign out" in session.get(f"{console_url}/apps/appID1/", timeout=30).text, "sign-in failed"
    return f"console_session={session.cookies['console_session']}"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def server_env(log_level: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's console and sandbox: development mode with throwaway secrets, the
    sandbox on, no database or cache inherited from the caller (each benchmark sets its own)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CACHE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        CONSOLE_MODE="development",
        DEBUG="false",
        LOG_LEVEL=log_level,
        LOG_FORMAT="json",
        SECRET_KEY=Fernet.generate_key().decode() * 2,
        EMBRACE_TOKEN_KEYS=Fernet.generate_key().decode(),
        SANDBOX_ENABLED="true",
        **extra,
    )
    return env


@contextmanager
def console_and_upstream(args: argparse.Namespace) -> Iterator[dict]:
    """Start both instances; yield their URLs, the demo session cookie and the sandbox token."""
    import psycopg

    logs = Path(tempfile.mkdtemp(prefix="console-bench-"))
    upstream_port = free_port()
    # A log line per request would measure the terminal, not the console.
    env = server_env(log_level="WARNING", SANDBOX_BASE_URL=f"http://127.0.0.1:{upstream_port}/custom-metrics")
    database = None
    admin = None
    if args.sqlite:
        env["DATABASE_URL"] = f"sqlite:///{logs / 'bench.sqlite3'}"
    else:
        database = f"console_bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True)
        admin.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = f"{POSTGRES}/{database}"
        env["CACHE_URL"] = f"{REDIS}?key_prefix=bench-{database}"
    instances: list[Instance] = []
    try:
        prepared = subprocess.run(
            [PYTHON, "-c", PREPARE.format(no_migrations=args.no_migrations)],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if prepared.returncode != 0:
            raise RuntimeError(f"could not prepare the database:\n{prepared.stderr}")
        seed = json.loads(prepared.stdout.strip().splitlines()[-1])
        instances.append(Instance("upstream", env, upstream_port, 2, 4, logs))
        console = Instance("console", env, free_port(), 2, args.threads, logs)
        instances.append(console)
        # One session per simulated person (the demo user signed in that many times).
        cookies = [_sign_in(console.url) for _ in range(args.people)]
        yield {
            "console": console,
            "upstream": instances[0],
            "cookies": cookies,
            "token": seed["token"],
            "database": "SQLite" if args.sqlite else "PostgreSQL + Redis",
            "logs": logs,
            "env": env,
        }
    finally:
        for instance in instances:
            instance.stop()
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.close()
            import redis

            cache = redis.Redis.from_url(REDIS)
            for key in cache.scan_iter(f"bench-{database}:*"):
                cache.delete(key)
