"""Request ids, the access log, request metrics, and log hygiene.

Every log line carries the request id; every request gets one access-log line and is counted in
the Prometheus metrics by its URL name (never its raw path, which would make one series per
metric name); no secret reaches a log: the access line holds the path without its query string
and never a header, and ``RedactSecretsFilter`` masks anything token-like that slips through.
"""

import contextvars
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from prometheus_client import Counter, Histogram

from metrics_ui.network import is_trusted_proxy

access_logger = logging.getLogger("metrics_ui.access")

REQUESTS = Counter(
    "console_http_requests_total",
    "Requests the console answered, by method, URL name and status code.",
    ["method", "view", "status"],
)
REQUEST_SECONDS = Histogram(
    "console_http_request_seconds",
    "Time the console took to answer, by method and URL name.",
    ["method", "view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and hyphens only: a UUID, a hex trace id or a load balancer's id fit; nothing that
# could split a log line, look like a path, or carry a payload does.
_WELL_FORMED = re.compile(r"[A-Za-z0-9-]{8,64}")

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` from a trusted proxy or makes one, and echoes it on the response.

    Anyone else's id is ignored: a client could otherwise pick the id another person's request is logged
    under, or reuse one to blur the trail.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        trusted = _WELL_FORMED.fullmatch(incoming) and is_trusted_proxy(request)
        request_id = incoming if trusted else new_request_id()
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class AccessLogMiddleware:
    """One JSON line and one metrics sample per request: method, path, status, duration, user, view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            elapsed = time.perf_counter() - started
            view = _view_label(request)
            method = request.method if request.method in _METHODS else "other"
            REQUESTS.labels(method, view, str(status)).inc()
            REQUEST_SECONDS.labels(method, view).observe(elapsed)
            access_logger.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "request",
                extra={
                    "method": method,
                    # The path only: query strings may carry values nobody should find in a log.
                    "path": request.path[:500],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "user_id": _user_id(request),
                    "view": view,
                },
            )


def _view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        # Static files (answered by whitenoise) and paths no URL matches.
        return "static" if request.path.startswith(f"/{settings.STATIC_URL.lstrip('/')}") else "unmatched"
    return match.view_name or "unnamed"


def _user_id(request: HttpRequest) -> int | None:
    user = request.__dict__.get("user")
    if user is None:
        return None
    # A user nobody looked at is left alone: logging must not cost a database query.
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


class RequestIdFilter:
    """Adds ``request_id`` to every log record."""

    def filter(self, record) -> bool:
        record.request_id = current_request_id.get()
        return True


_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(
        r"(?i)((?:token|authorization|cookie|sessionid|session|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s'\",;]+"
    ),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class RedactSecretsFilter:
    """Last line of defence: masks bearer values and token-like assignments in log messages and extras."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class ReadableFormatter(logging.Formatter):
    """One short line per record, for a person watching ``bin/run``; production logs stay JSON.

    A request reads ``12:00:01 GET /apps/appID1/ 200 48ms``; anything else reads
    ``12:00:01 WARNING metrics_ui.upstream: message``.
    """

    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%H:%M:%S", self.converter(record.created))
        if record.name == access_logger.name and hasattr(record, "status"):
            line = f"{when} {record.method} {record.path} {record.status} {record.duration_ms:.0f}ms"
        else:
            line = f"{when} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line
