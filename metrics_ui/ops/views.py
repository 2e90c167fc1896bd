"""What operators and their machines ask the console: is it alive, is it ready, how is it doing.

None of these need a sign-in, and none say anything an outsider could use: the probes answer with
fixed words only (never an error message, a host name or a version), and ``/metrics`` is closed
unless a bearer token or a network allowlist opens it.
"""

import hmac
import logging
import os

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from metrics_ui import network

logger = logging.getLogger("metrics_ui.views.ops")  # the name operators filter on

_LOOPBACK = ("127.0.0.0/8", "::1/128")


@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and answering. Checks nothing else, so a database outage never restarts it."""
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready for traffic: the database and the cache both answer. 503 takes the instance out of rotation."""
    checks = {"database": _check(_database_answers, "database"), "cache": _check(_cache_answers, "cache")}
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _check(probe, name: str) -> str:
    try:
        probe()
    except Exception:
        # The details go to the log for the operator, never into the response.
        logger.warning("readiness check failed", extra={"check": name}, exc_info=True)
        return "unavailable"
    return "ok"


def _database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache_answers() -> None:
    # A write and a read: a Redis that accepts connections but refuses writes is not ready either.
    key = f"readyz:{os.getpid()}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was just stored")


@require_safe
@never_cache
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of the console's request and upstream metrics, for allowed scrapers only."""
    if not _scraper_allowed(request):
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry():
    # Under gunicorn every worker writes its samples to PROMETHEUS_MULTIPROC_DIR (see gunicorn.conf.py);
    # whichever worker answers the scrape adds them all up, so one scrape sees the whole instance.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _scraper_allowed(request: HttpRequest) -> bool:
    """A matching bearer token or an allowed client address opens /metrics.

    With neither configured, production keeps the endpoint closed (it answers 404 like any unknown
    page) and development lets loopback clients in. The client address is the connection's own
    ``REMOTE_ADDR``, never a forwarded header, which any client could forge.
    """
    token = settings.METRICS_BEARER_TOKEN
    networks = settings.METRICS_ALLOWED_NETWORKS
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return True
    if not token and not networks:
        if settings.PRODUCTION:
            return False
        networks = _LOOPBACK
    return network.connection_from(request, networks)
