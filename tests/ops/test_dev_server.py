"""The development server (``manage.py runserver``, what ``bin/run`` starts): one readable line per
request and each start-up line once; JSON when LOG_FORMAT=json or in production; TCP_NODELAY on every
connection, so a kept-alive browser doesn't wait for a delayed ACK between headers and body."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.core.management import get_commands
from django.core.servers.basehttp import WSGIRequestHandler

from metrics_ui.management.commands.runserver import NoDelayWSGIServer
from tests.ops.support import BASE_DIR, clean_env, free_port, production_env


def run_and_get_healthz(tmp_path, **env: str) -> str:
    """Starts runserver (with its autoreloader, as bin/run does), GETs /healthz, returns what it printed."""
    port = free_port()
    out = tmp_path / "runserver.log"
    environment = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **env)
    with out.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
            cwd=BASE_DIR, env=environment, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        for _ in range(150):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail(f"runserver did not answer:\n{out.read_text()}")
        time.sleep(0.5)  # the access line is written after the response
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    return out.read_text()


def test_in_development_each_request_is_one_readable_line_and_start_up_lines_appear_once(tmp_path):
    printed = run_and_get_healthz(tmp_path)
    assert re.search(r"^\d\d:\d\d:\d\d GET /healthz 200 \d+ms$", printed, re.M), printed
    assert printed.count("Watching for file changes") == 1, printed
    assert '"logger"' not in printed


def test_with_log_format_json_each_request_is_a_json_line(tmp_path):
    printed = run_and_get_healthz(tmp_path, LOG_FORMAT="json")
    records = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "metrics_ui.access" and r["path"] == "/healthz"]
    assert access and access[0]["status"] == 200
    assert not re.search(r"^\d\d:\d\d:\d\d GET", printed, re.M)


def test_an_unknown_log_format_stops_start_up_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR, env=clean_env(LOG_FORMAT="xml"), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "LOG_FORMAT must be 'json' or 'text'." in result.stderr


def test_production_logs_json_by_default():
    """The default follows the mode: settings.py picks json when CONSOLE_MODE=production."""
    script = "import django; django.setup(); from django.conf import settings; print(settings.LOG_FORMAT)"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=production_env(), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.stdout.strip() == "json", result.stderr


def test_manage_py_runserver_is_the_project_command_that_sets_tcp_nodelay():
    """Without TCP_NODELAY, Nagle's algorithm holds each small response's body until the client's
    delayed ACK of its headers: about 40 ms per page on a kept-alive connection."""
    assert get_commands()["runserver"] == "metrics_ui"
    server = NoDelayWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    try:
        with socket.create_connection(server.server_address):
            connection, _ = server.get_request()
            with connection:
                assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.server_close()
