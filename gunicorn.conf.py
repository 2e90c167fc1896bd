"""gunicorn settings for the console: ``gunicorn dashboard.wsgi -c gunicorn.conf.py`` (or ``bin/serve``).

Everything comes from the environment; the configuration table in docs/operations.md lists each variable.
Requests are logged by the console itself (one JSON line each, with the request id and user), so
gunicorn's own access log is off and its error log is JSON too.
"""

import gc
import glob
import math
import os
import shutil
import tempfile


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_env_int('PORT', 8000)}"
# Threads let one worker wait on the upstream for several people at once.
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", 2)
threads = _env_int("GUNICORN_THREADS", 4)

# The worst upstream call: every attempt hits both timeouts, plus backoff. A create or delete whose answer
# was lost is followed by a look-up by name, so a request may make two such calls; it must outlive them
# and still render its friendly message, so the worker timeout sits above that.
_upstream_budget = (1 + _env_int("UPSTREAM_READ_RETRIES", 2)) * (
    _env_float("UPSTREAM_CONNECT_TIMEOUT", 3.05) + _env_float("UPSTREAM_READ_TIMEOUT", 10.0)
)
timeout = _env_int("GUNICORN_TIMEOUT", max(60, math.ceil(2 * _upstream_budget) + 15))
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Optional recycling of workers; 0 (the default) keeps them: memory stays flat (see bench/memory.py).
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

# gunicorn 27's control socket sits at one fixed path per user: two instances on one host would
# fight over it, and nothing here uses it.
control_socket_disable = True

accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"], "propagate": False},
        # With a logging config gunicorn writes access lines regardless of ``accesslog``; they hold
        # query strings, and the console's own line per request replaces them.
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}

# Prometheus multiprocess mode: each worker writes its samples to files in this directory and the
# worker that answers /metrics adds up all of them. Each gunicorn master gets its own fresh
# directory unless one is given (in a container, point it at a tmpfs / emptyDir volume).
# It must be in the environment before any worker imports prometheus_client.
_own_multiproc_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_multiproc_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="console-prometheus-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def on_starting(server) -> None:
    # Samples left by a previous run would be added to this one's.
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def post_worker_init(worker) -> None:
    # Everything loaded by now (Django, the URL conf, templates' code) lives as long as the worker:
    # moved out of the garbage collector's view, it is no longer walked by every full collection,
    # which otherwise lands on some unlucky page view as a pause of tens of milliseconds.
    gc.freeze()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _own_multiproc_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
