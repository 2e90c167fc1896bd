"""Helpers for the operations tests: environments for child processes, and gunicorn instances."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

# Everything the console reads that a developer's shell or the test run might have set.
_CONSOLE_VARIABLES = (
    "CONSOLE_MODE",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "ALLOWED_HOSTS",
    "EMBRACE_TOKEN_KEYS",
    "DEBUG",
    "DATABASE_URL",
    "CACHE_URL",
    "SANDBOX_ENABLED",
    "SANDBOX_BASE_URL",
    "DEMO_LOGIN_ENABLED",
    "METRICS_BEARER_TOKEN",
    "METRICS_ALLOWED_NETWORKS",
    "SECURE_SSL_REDIRECT",
    "TRUST_X_FORWARDED_PROTO",
    "PROMETHEUS_MULTIPROC_DIR",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "DJANGO_SETTINGS_MODULE",
)


def clean_env(**overrides: str) -> dict[str, str]:
    """The current environment without any console setting, plus ``overrides``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _CONSOLE_VARIABLES and not k.startswith(("OIDC_", "PROXY_AUTH_", "ROLE_GROUPS_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def production_env(**overrides: str) -> dict[str, str]:
    """A complete, valid production configuration (fresh random secrets), plus ``overrides``."""
    values = {
        "CONSOLE_MODE": "production",
        "SECRET_KEY": Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "console.example.com",
        "EMBRACE_TOKEN_KEYS": Fernet.generate_key().decode(),
    }
    return clean_env(**(values | overrides))


def prepare_database(env: dict[str, str], request, *commands: str) -> subprocess.CompletedProcess:
    """Create the schema in ``env``'s database the way the test database gets it (real migrations,
    or the models directly under ``--no-migrations``), then run management ``commands``."""
    no_migrations = bool(request.config.getoption("nomigrations", default=False))
    code = "\n".join(
        [
            "import django",
            "from django.conf import settings",
            "from django.core.management import call_command",
            "django.setup()",
            "class NoMigrations(dict):",
            "    def __contains__(self, app): return True",
            "    def __getitem__(self, app): return None",
            f"if {no_migrations!r}: settings.MIGRATION_MODULES = NoMigrations()",
            'call_command("migrate", run_syncdb=True, verbosity=0)',
            *(f"call_command({command!r}, verbosity=0)" for command in commands),
        ]
    )
    return run_python(code, env)


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )


def settings_in(env: dict[str, str], *names: str) -> dict:
    """The values of settings ``names`` as a process started with ``env`` sees them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn dashboard.wsgi -c gunicorn.conf.py`` on a loopback port, as an operator runs it."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 1,
        threads: int = 4,
        log_path: Path,
        port: int = 0,
        host: str = "127.0.0.1",
    ):
        self.port = port or free_port()
        self.host = host
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
        self.process = subprocess.Popen(
            [GUNICORN, "dashboard.wsgi", "-c", "gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log()}")
            try:
                answer = requests.get(f"{self.url}/healthz", headers={"Host": self.host}, timeout=10)
                if answer.status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
