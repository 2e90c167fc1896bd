"""The one door to the Embrace Custom Metrics API, and to its Metrics API (PromQL) for the charts.

This module is the only code that talks HTTP to the upstream (Embrace, or the built-in sandbox). It owns
(for both APIs; ``Client`` and ``MetricsApi`` share ``_Caller``):

* **Connections**: one pooled ``requests.Session`` per process per base URL for reads (GET, DELETE) and one
  for creates (POST), so keep-alive connections are reused across page views. Creates have their own
  session because urllib3 chooses retries per adapter, not per method, and a create must never be retried.
* **Timeouts and retries**: every call passes ``(UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_READ_TIMEOUT)``; reads are
  retried by urllib3's ``Retry`` (5xx, 429, connect errors, at most one read timeout or reset) with jittered
  backoff, honouring ``Retry-After`` up to ``RETRY_AFTER_CAP_SECONDS``. Settings are read at call time.
  Inside a page view, every call but a create also keeps to the page's deadline (``page_deadline``): each
  attempt's timeouts shrink to the time left, and no retry starts that could not finish before it.
* **Input safety**: app ids and metric names are validated and every path segment percent-encoded before any
  request; redirects are never followed, so the token never reaches another host.
* **Parsing**: bodies are read up to ``UPSTREAM_MAX_RESPONSE_BYTES`` and turned into frozen dataclasses here;
  no caller sees a raw dict (except ``CustomMetric.filters``, which is the API's JSON filter tree). The
  metric list is decoded by msgspec into typed rows (``ListedMetric``): every row is checked, but each
  filter tree stays undecoded until that row is shown (``ListedMetric.full``), and a body identical to a
  recent one is not decoded again (``content_memo``: the rows are frozen and shared).
* **Asking ahead**: ``ahead`` starts a call on another thread with the request's context (request id,
  deadline), so a page can read its own database while Embrace answers (the list page does).
* **Errors**: every outcome other than success is one ``UpstreamError`` subclass per meaning, with a
  ``message`` written for a person who is not an engineer. No ``requests`` exception escapes.
* **Circuit breaker**: one pybreaker breaker per base URL, *per process* (each gunicorn worker learns about an
  outage on its own; that costs at most ``UPSTREAM_BREAKER_FAILURES`` slow calls per worker). It counts only
  timeouts, connection failures and 5xx answers, never one user's 400/403/404/409.
* **Observability**: one structured log line per call (never the token), ``X-Request-ID`` sent upstream, and
  Prometheus counters/histograms labelled by path template, not by app.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import http.cookiejar
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec
import pybreaker
import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from prometheus_client import Counter, Histogram
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from metrics_ui import bounded_json, catalog, content_memo, page_deadline
from metrics_ui.observability import REQUEST_ID_HEADER, current_request_id, new_request_id

logger = logging.getLogger("metrics_ui.upstream")

REGIONS: dict[str, str] = {
    "default": "Embrace (default region)",
    "us": "Embrace US (api-us1)",
    "eu": "Embrace EU (api-eu1)",
    "sandbox": "Built-in sandbox",
}
_HOSTS = {
    "default": "https://api.embrace.io/custom-metrics",
    "us": "https://api-us1.embrace.io/custom-metrics",
    "eu": "https://api-eu1.embrace.io/custom-metrics",
}
_METRICS_HOSTS = {
    "default": "https://api.embrace.io/metrics",
    "us": "https://api-us1.embrace.io/metrics",
    "eu": "https://api-eu1.embrace.io/metrics",
}

# A Retry-After longer than this is not waited for inside a page view: the user gets the 429/503 message
# (which says how long to wait) instead of a page that hangs.
RETRY_AFTER_CAP_SECONDS = 5
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Large enough that a typical list (340 KB for 1,000 metrics) arrives in one or two reads instead of
# six; the size cap is still checked after each chunk, so at most one chunk more than the cap is read.
_CHUNK = 1024 * 1024
_UPSTREAM_MESSAGE_MAX = 500

_LIST_PATH = "/api/v1/app/{app_id}/custom-metrics"
_METRIC_PATH = "/api/v1/app/{app_id}/custom-metrics/{name}"
_PARAMETERS_PATH = "/api/v1/app/{app_id}/custom-metrics/parameters"

REQUESTS_TOTAL = Counter(
    "console_upstream_requests_total",
    "Calls from the console to the Custom Metrics API, by outcome.",
    ["method", "endpoint", "status"],
)
REQUEST_SECONDS = Histogram(
    "console_upstream_request_seconds",
    "Time spent on one call to the Custom Metrics API, retries included.",
    ["method", "endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60),
)


# --- Errors -----------------------------------------------------------------------------------------


class UpstreamError(Exception):
    """An upstream outcome the console must explain to the user; not raised directly.

    ``message`` is plain words for a person who is not an engineer and never contains the token;
    ``status`` is the HTTP status when there was one.
    """

    default_message = "Something went wrong while talking to Embrace. Try again in a minute."

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        self.message = message or self.default_message
        self.status = status
        super().__init__(self.message)


class InvalidInput(UpstreamError):
    """A value was refused before any request was made (bad app id, metric name, region or token)."""

    default_message = "That value can't be sent to Embrace."


class Rejected(UpstreamError):
    """Embrace refused the request as invalid (400); ``upstream_message`` is its own text, as data."""

    def __init__(self, upstream_message: str = "", *, status: int | None = 400) -> None:
        self.upstream_message = upstream_message
        if upstream_message:
            message = f"Embrace rejected the request: {upstream_message}"
        else:
            message = "Embrace rejected the request."
        super().__init__(message, status=status)


class Forbidden(UpstreamError):
    """Embrace refused the token for this app (403, or 401)."""


class NotFound(UpstreamError):
    """The app or metric doesn't exist upstream (404)."""


class Conflict(UpstreamError):
    """A metric with that name already exists, or the upstream reported a conflict (409)."""


class ServerError(UpstreamError):
    """Embrace failed or is overloaded (5xx, 429); ``retry_after`` is its hint in seconds, if any."""

    def __init__(
        self, message: str | None = None, *, status: int | None = None, retry_after: int | None = None
    ):
        self.retry_after = retry_after
        super().__init__(message, status=status)


class Unavailable(UpstreamError):
    """No usable answer: timeout, refused or reset connection.

    ``timed_out`` says whether a timeout was the cause. ``may_have_reached`` says whether the request may
    have been received and processed (False only when the connection was never made); after a create with
    ``may_have_reached`` the caller must look the metric up before saying it wasn't created.
    """

    default_message = "Can't reach Embrace right now. Try again in a minute."

    def __init__(
        self, message: str | None = None, *, timed_out: bool = False, may_have_reached: bool = False
    ):
        self.timed_out = timed_out
        self.may_have_reached = may_have_reached
        super().__init__(message)


class CircuitOpen(Unavailable):
    """Embrace failed repeatedly, so calls are refused without a request until ``retry_at`` (aware)."""

    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(f"Embrace is unavailable; retrying after {_clock(retry_at)}.")


class BadResponse(UpstreamError):
    """Embrace answered something unusable: not JSON, the wrong shape, too large, or a redirect."""

    default_message = "Embrace answered in an unexpected way. Try again in a minute."


def _clock(moment: datetime) -> str:
    """HH:MM in the server's time zone, rounded up so that retrying at that minute is never too early."""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return local.strftime("%H:%M")


# --- Regions and validation ------------------------------------------------------------------------

_APP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: what a header can carry
TOKEN_MAX_LENGTH = 512


def is_token(token: object) -> bool:
    return (
        isinstance(token, str) and len(token) <= TOKEN_MAX_LENGTH and bool(TOKEN_CHARACTERS.fullmatch(token))
    )


def base_url(region: str) -> str:
    """The Custom Metrics API base URL for a token's region (no trailing slash)."""
    if region == "sandbox":
        if not settings.SANDBOX_ENABLED:
            raise InvalidInput("The built-in sandbox is switched off on this server.")
        return settings.SANDBOX_BASE_URL.rstrip("/")
    if region not in _HOSTS:
        raise InvalidInput("That region isn't one Embrace offers. Choose default, US, EU or the sandbox.")
    return _HOSTS[region]


def metrics_api_url(region: str) -> str:
    """The Metrics API (PromQL) base URL for a Metrics API token's region (no trailing slash)."""
    if region == "sandbox":
        if not settings.SANDBOX_ENABLED:
            raise InvalidInput("The built-in sandbox is switched off on this server.")
        # Empty means "beside the sandbox's Custom Metrics API", read at call time so tests can move it.
        configured = settings.SANDBOX_METRICS_API_URL or settings.SANDBOX_BASE_URL.rstrip("/").replace(
            "/custom-metrics", "/metrics"
        )
        return configured.rstrip("/")
    if region not in _METRICS_HOSTS:
        raise InvalidInput("That region isn't one Embrace offers. Choose default, US, EU or the sandbox.")
    return _METRICS_HOSTS[region]


def validate_app_id(app_id: str) -> str:
    if not isinstance(app_id, str) or not _APP_ID.fullmatch(app_id):
        raise InvalidInput(
            "That isn't a valid app ID: app IDs use only letters, digits, “-” and “_”, up to 64 characters."
        )
    return app_id


def validate_metric_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or len(name) > catalog.NAME_MAX_LENGTH
        or not catalog.NAME_RE.fullmatch(name)
    ):
        raise InvalidInput(
            "That isn't a valid metric name: it must start with a letter or “_” and use only letters, "
            f"digits and “_”, up to {catalog.NAME_MAX_LENGTH} characters."
        )
    return name


# --- Values -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomMetric:
    """One custom metric as Embrace stores it."""

    custom_metric_id: str
    app_id: str
    name: str
    metric: str
    filters: dict = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    time_granularity: tuple[str, ...] = (catalog.DEFAULT_GRANULARITY,)
    data_destination: tuple[str, ...] = (catalog.DEFAULT_DESTINATION,)

    def definition(self) -> dict:
        """The create request body that would produce this metric."""
        return {
            "name": self.name,
            "metric": self.metric,
            "group_by": list(self.group_by),
            "filters": copy.deepcopy(self.filters),
            "time_granularity": list(self.time_granularity),
            "data_destination": list(self.data_destination),
        }

    def same_definition(self, body: Mapping) -> bool:
        """Whether a create body describes this metric: defaults applied, list order ignored."""
        return _normalised(self.definition()) == _normalised(body)


def _normalised(body: Mapping) -> tuple:
    def values(key: str, default: tuple = ()) -> frozenset:
        value = body.get(key)
        if value in (None, "", [], ()):
            value = default
        if not isinstance(value, list | tuple):
            value = [value]
        return frozenset(_canonical_json(v) for v in value)

    return (
        body.get("name"),
        body.get("metric"),
        values("group_by"),
        _canonical_json(_canonical_tree(body.get("filters") or {})),
        values("time_granularity", (catalog.DEFAULT_GRANULARITY,)),
        values("data_destination", (catalog.DEFAULT_DESTINATION,)),
    )


def _canonical_tree(node: object) -> object:
    # Children of and/or, values of "in" and property values are sets in meaning, so order is ignored;
    # an and/or group with no children means "no filter".
    if isinstance(node, dict):
        if set(node) <= {"op", "children"} and not node.get("children"):
            return {}
        return {key: _canonical_tree(value) for key, value in node.items()}
    if isinstance(node, list):
        return sorted((_canonical_tree(item) for item in node), key=_canonical_json)
    return node


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_STRING_FIELDS = ("custom_metric_id", "app_id", "name", "metric")
_DEFAULT_GRANULARITIES = (catalog.DEFAULT_GRANULARITY,)
_DEFAULT_DESTINATIONS = (catalog.DEFAULT_DESTINATION,)


def _strings_list(item: dict, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        return default
    if value.__class__ is not list:
        raise ValueError(f"{key} must be a list of strings")
    for v in value:
        if v.__class__ is not str:
            raise ValueError(f"{key} must be a list of strings")
    return tuple(value) if value else default


def _metric_from_json(item: object) -> CustomMetric:
    # Parsed JSON holds only exact dict/list/str types, so ``__class__ is`` checks are exact here and
    # several times cheaper than isinstance: a 1,000-metric list is parsed on every list page view.
    if item.__class__ is not dict:
        raise ValueError("a custom metric must be a JSON object")
    get = item.get
    custom_metric_id, app_id = get("custom_metric_id"), get("app_id")
    name, metric = get("name"), get("metric")
    if not (
        custom_metric_id.__class__ is str
        and app_id.__class__ is str
        and name.__class__ is str
        and metric.__class__ is str
    ):
        missing = next(key for key in _STRING_FIELDS if get(key).__class__ is not str)
        raise ValueError(f"custom metric without a string {missing}")
    filters = get("filters") or {}
    if filters.__class__ is not dict:
        raise ValueError("filters must be a JSON object")
    return CustomMetric(
        custom_metric_id,
        app_id,
        name,
        metric,
        filters,
        _strings_list(item, "group_by", ()),
        _strings_list(item, "time_granularity", _DEFAULT_GRANULARITIES),
        _strings_list(item, "data_destination", _DEFAULT_DESTINATIONS),
    )


class ListedMetric(msgspec.Struct, frozen=True, gc=False):
    """One row of the metric list: checked like ``CustomMetric``, its filter tree still JSON text.

    Search and sort need only ``name`` and ``metric``; ``full()`` makes the ``CustomMetric`` of a row that is
    shown. ``gc=False``: a thousand rows per page view are not the garbage collector's business (they hold
    only strings and tuples of strings).
    """

    custom_metric_id: str
    app_id: str
    name: str
    metric: str
    filters: msgspec.Raw = msgspec.Raw(b"null")
    group_by: tuple[str, ...] | None = None
    time_granularity: tuple[str, ...] | None = None
    data_destination: tuple[str, ...] | None = None

    def full(self) -> CustomMetric:
        return CustomMetric(
            self.custom_metric_id,
            self.app_id,
            self.name,
            self.metric,
            _filters(self.filters),
            self.group_by or (),
            self.time_granularity or _DEFAULT_GRANULARITIES,
            self.data_destination or _DEFAULT_DESTINATIONS,
        )


class _ListBody(msgspec.Struct, gc=False):
    results: list[ListedMetric]


_LIST_DECODER = msgspec.json.Decoder(_ListBody)
_UTF8_BOM = b"\xef\xbb\xbf"
_OBJECT_OR_NULL = (b"{", b"n")  # how a JSON object, or null, starts


_FILTERS_DECODER = msgspec.json.Decoder()


def _filters(raw: msgspec.Raw) -> dict:
    # The list's body passed the bounded pre-scan, so either parser is safe on this part of it.
    try:
        filters = _FILTERS_DECODER.decode(raw) or {}
    except msgspec.ValidationError:  # an integer beyond 64 bits, which the standard parser takes
        filters = json.loads(bytes(raw)) or {}
    if filters.__class__ is not dict:
        raise ValueError("filters must be a JSON object")
    return filters


class MetricRows(tuple):
    """An app's list rows (``ListedMetric``), and the digest of the body they came from: two lists with the
    same digest are the same list, which is what lets a rendered table be kept (``metrics.list_table``)."""

    digest: str


def _decode_rows(body: bytes, digest: str) -> MetricRows:
    """The list body as typed rows, with the same limits and shape rules as ``_json`` + ``_metric_from_json``.

    msgspec checks every row's fields in C and skips over the filter trees without building them; the
    bounded pre-scan (byte operations) still refuses a body nested too deep or with a huge number.
    """
    body.decode("utf-8")  # as the standard parser would: invalid UTF-8 anywhere is not JSON
    if body.startswith(_UTF8_BOM):
        body = body[3:]
    if bounded_json.suspect(body):
        bounded_json.check(body.decode("utf-8"))  # raises Refused unless the first look was a false alarm
    try:
        rows = _LIST_DECODER.decode(body).results
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ValueError("not a list of custom metrics") from exc
    for row in rows:
        # The API sends an object or null; anything else is checked exactly as a full decode would.
        if bytes(row.filters)[:1] not in _OBJECT_OR_NULL:
            _filters(row.filters)
    result = MetricRows(rows)
    result.digest = digest
    return result


# The rows are frozen and shared: a list that hasn't changed since a recent view costs a hash, not a decode.
# Eight lists of a thousand metrics hold about 5 MB per worker.
_decode_list = content_memo.ContentMemo(_decode_rows, size=8)


# --- Asking ahead ------------------------------------------------------------------------------------

# Threads that wait for Embrace while a page's own thread reads the database. Waiting costs no CPU, so
# a few more than a worker's request threads (GUNICORN_THREADS) is plenty; they start only when used.
_AHEAD = ThreadPoolExecutor(max_workers=8, thread_name_prefix="upstream-ahead")


def ahead[T](call: Callable[..., T], *args) -> Future[T]:
    """Start ``call(*args)`` now on another thread, so the caller can do its own work while Embrace answers.

    The call runs in a copy of this request's context: the same request id, page deadline and log fields.
    ``.result()`` returns what it returned or raises what it raised.
    """
    return _AHEAD.submit(contextvars.copy_context().run, call, *args)


# --- Sessions -----------------------------------------------------------------------------------------

_attempts: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "upstream_attempts", default=None
)


# An attempt with less time than this left is not worth starting: it could only time out.
_MIN_ATTEMPT_SECONDS = 0.25


class _CountingRetry(Retry):
    """urllib3's Retry, noting each retry it grants so the log line can say how many attempts were made,
    and granting none that could not finish before the page's deadline."""

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ) -> Retry:
        granted = super().increment(method, url, response, error, _pool, _stacktrace)
        left = page_deadline.remaining()
        if left is not None and left < granted._wait_before_next(response) + _MIN_ATTEMPT_SECONDS:
            # Exhausted, exactly as urllib3 says it: the caller sees the last failure, or the last answer.
            reason = error or ResponseError(
                ResponseError.SPECIFIC_ERROR.format(status_code=response.status)
                if response is not None and response.status
                else ResponseError.GENERIC_ERROR
            )
            raise MaxRetryError(_pool, url, reason) from reason
        counter = _attempts.get()
        if counter is not None:
            counter[0] += 1
        return granted

    def _wait_before_next(self, response) -> float:
        """The longest urllib3 will sleep before the next attempt (Retry-After, or backoff and its jitter)."""
        if response is not None and self.respect_retry_after_header:
            try:
                retry_after = self.get_retry_after(response)
            except InvalidHeader:
                retry_after = None
            if retry_after:
                return retry_after
        backoff = self.get_backoff_time()
        return min(self.backoff_max, backoff + self.backoff_jitter) if backoff else 0.0


class _DeadlineTimeout(Timeout):
    """The configured timeouts, each attempt's cut to the time left before the page's deadline.

    urllib3 clones the timeout for every attempt (retries included), so the cut is made then.
    """

    def __init__(self, connect: float, read: float) -> None:
        super().__init__(connect=connect, read=read)

    def clone(self) -> Timeout:
        left = page_deadline.remaining()
        if left is None:
            return Timeout(connect=self._connect, read=self._read)
        left = max(left, _MIN_ATTEMPT_SECONDS)
        return Timeout(connect=min(self._connect, left), read=min(self._read, left), total=left)


def _retry_policy(write: bool) -> tuple:
    if write:
        return (0, 0, 0, 0, 0.0, 0)
    retries = max(0, int(settings.UPSTREAM_READ_RETRIES))
    # A timed-out read is retried once at most: a slow upstream is rarely faster the third time, and each
    # attempt costs a full read timeout of the user's page budget.
    backoff = float(settings.UPSTREAM_BACKOFF_FACTOR)
    return (retries, retries, min(retries, 1), retries, backoff, RETRY_AFTER_CAP_SECONDS)


def _make_retry(policy: tuple) -> Retry:
    total, connect, read, status, backoff, retry_after_cap = policy
    return _CountingRetry(
        total=total,
        connect=connect,
        read=read,
        status=status,
        other=0,
        redirect=0,
        status_forcelist=RETRIED_STATUSES if total else None,
        # Never empty: urllib3 reads an empty collection as "every method", POST included.
        allowed_methods=frozenset({"GET", "DELETE"}),
        backoff_factor=backoff,
        backoff_jitter=backoff,
        respect_retry_after_header=True,
        retry_after_max=retry_after_cap,
        raise_on_status=False,
        raise_on_redirect=False,
    )


_sessions: dict[tuple, requests.Session] = {}
_sessions_lock = threading.Lock()


def _session(base: str, *, write: bool) -> requests.Session:
    """The process's pooled session for this base URL (one for reads, one for creates)."""
    policy = _retry_policy(write)
    key = (base, write, policy)
    session = _sessions.get(key)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(key)
            if session is None:
                session = requests.Session()
                # One session serves every user: a cookie set for one must never be sent for another.
                session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
                session.headers.update({"Accept": "application/json", "User-Agent": "custom-metrics-console"})
                adapter = HTTPAdapter(max_retries=_make_retry(policy))
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _sessions[key] = session
    return session


def close_sessions() -> None:
    """Close every pooled connection (tests, so no keep-alive connection outlives a test's server)."""
    with _sessions_lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()


class _Bearer(requests.auth.AuthBase):
    """Sets the bearer header; passing auth explicitly also stops requests from reading ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "<Bearer [redacted]>"


# --- Circuit breaker ----------------------------------------------------------------------------------


def _counts_as_outage(exc: BaseException) -> bool:
    if isinstance(exc, ServerError):
        return exc.status is not None and exc.status >= 500
    return isinstance(exc, Unavailable)


class _TransitionLog(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state) -> None:
        logger.warning(
            "Circuit breaker for %s went from %s to %s",
            cb.name,
            old_state.name if old_state else "-",
            new_state.name,
            extra={
                "breaker": cb.name,
                "from_state": old_state.name if old_state else None,
                "to_state": new_state.name,
            },
        )


class _Breaker:
    """pybreaker's state machine, entered through ``calling()`` so that calls run concurrently.

    ``CircuitBreaker.call`` holds the breaker's lock for the whole call, which would serialise every
    request to a base URL in a threaded worker (danielfm/pybreaker#3, #57). ``calling()`` releases the lock
    while the request runs, so the single half-open probe is enforced here instead.
    """

    def __init__(self, base: str) -> None:
        self.storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self.breaker = pybreaker.CircuitBreaker(
            exclude=[lambda exc: not _counts_as_outage(exc)],
            listeners=[_TransitionLog()],
            state_storage=self.storage,
            name=base,
            throw_new_error_on_trip=False,
        )
        self._lock = threading.Lock()
        self._probing = False

    def retry_at(self) -> datetime:
        now = datetime.now(UTC)
        opened_at = self.storage.opened_at or now
        return max(opened_at + timedelta(seconds=self.breaker.reset_timeout), now)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        self.breaker.fail_max = settings.UPSTREAM_BREAKER_FAILURES
        self.breaker.reset_timeout = settings.UPSTREAM_BREAKER_RESET_SECONDS
        with self._lock:
            if self.breaker.current_state != pybreaker.STATE_CLOSED and self._probing:
                raise CircuitOpen(self.retry_at())
            probe = self.breaker.current_state != pybreaker.STATE_CLOSED
            self._probing = self._probing or probe
        try:
            try:
                with self.breaker.calling():
                    yield
            except pybreaker.CircuitBreakerError:
                raise CircuitOpen(self.retry_at()) from None
        finally:
            if probe:
                with self._lock:
                    self._probing = False

    @property
    def state(self) -> str:
        return self.breaker.current_state


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker(base: str) -> _Breaker:
    with _breakers_lock:
        if base not in _breakers:
            _breakers[base] = _Breaker(base)
        return _breakers[base]


def breaker_states() -> dict[str, str]:
    """Each base URL this process has called and its breaker state (closed, open, half-open)."""
    with _breakers_lock:
        return {base: b.state for base, b in _breakers.items()}


def reset_breakers() -> None:
    """Forget every breaker (tests; a new breaker starts closed)."""
    with _breakers_lock:
        _breakers.clear()


# --- One call ---------------------------------------------------------------------------------------


def _failure(exc: requests.RequestException) -> Unavailable:
    """Classify a requests exception by its cause; after retries the cause hides in MaxRetryError."""
    cause: BaseException | None = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    if isinstance(exc, requests.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
        # Nothing was sent: the connection was never made (refused, DNS, or connect timeout).
        refused = isinstance(cause, NewConnectionError)
        return Unavailable(
            "Can't reach Embrace right now. Try again in a minute.",
            timed_out=not refused,
            may_have_reached=False,
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return Unavailable(
            "Can't reach Embrace securely right now (its certificate could not be verified). Try again in a "
            "minute; if it keeps happening, tell your administrator.",
            may_have_reached=True,
        )
    if isinstance(exc, requests.ReadTimeout) or isinstance(cause, ReadTimeoutError):
        return Unavailable(
            "Embrace didn't answer in time. Try again in a minute.", timed_out=True, may_have_reached=True
        )
    return Unavailable(
        "The connection to Embrace was cut off. Try again in a minute.",
        timed_out=False,
        may_have_reached=True,
    )


def _read_body(response: requests.Response) -> bytes:
    limit = settings.UPSTREAM_MAX_RESPONSE_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadResponse(status=response.status_code)
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise BadResponse(status=response.status_code)
            chunks.append(chunk)
    except requests.exceptions.ContentDecodingError as exc:
        raise BadResponse(status=response.status_code) from exc
    except requests.RequestException as exc:
        raise _failure(exc) from exc
    return b"".join(chunks)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json(body: bytes) -> object:
    # Bounded: a body nested thousands deep or with a huge number must become BadResponse, not a crash.
    try:
        return bounded_json.loads(
            body, parse_constant=_reject_constant, max_chars=settings.UPSTREAM_MAX_RESPONSE_BYTES
        )
    except (ValueError, RecursionError) as exc:
        raise ValueError("not JSON") from exc


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    except ValueError:
        return None
    return max(0, math.ceil((moment - datetime.now(UTC)).total_seconds()))


def _wait_words(seconds: int | None) -> str:
    if not seconds:
        return "in a minute"
    if seconds < 120:
        return "in 1 second" if seconds == 1 else f"in {seconds} seconds"
    return f"in about {math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: object  # parsed JSON, or None for an empty body


class _Caller:
    """One user's token for one region, and the one way a request is sent: breaker, deadline, log, metrics."""

    def __init__(self, token: str, region: str = "sandbox") -> None:
        if region not in REGIONS:
            raise InvalidInput("That region isn't one Embrace offers. Choose default, US, EU or the sandbox.")
        if (
            not isinstance(token, str)
            or len(token) > TOKEN_MAX_LENGTH
            or not TOKEN_CHARACTERS.fullmatch(token)
        ):
            raise InvalidInput(
                "That doesn't look like an Embrace token: it has spaces or unusual characters."
            )
        self._token = token
        self.region = region

    def __repr__(self) -> str:
        return f"<upstream.{type(self).__name__} region={self.region}>"

    def _exchange(
        self,
        method: str,
        base: str,
        url: str,
        template: str,
        app_id: str,
        params: dict | None,
        json_body: dict | None,
        interpret,
    ) -> _Answer:
        counter = [1]
        reset = _attempts.set(counter)
        started = time.monotonic()
        status: int | None = None
        label = "connection_error"
        outcome = "ok"
        try:
            with _breaker(base).guard():
                response = self._send(method, base, url, params, json_body)
                status = response.status_code
                label = str(status)
                try:
                    answer = interpret(response)
                finally:
                    response.close()
            return answer
        except UpstreamError as exc:
            outcome = type(exc).__name__
            if isinstance(exc, CircuitOpen):
                label, counter[0] = "circuit_open", 0
            elif isinstance(exc, BadResponse):
                label = "bad_response"
            elif isinstance(exc, Unavailable):
                label = "timeout" if exc.timed_out else "connection_error"
            raise
        finally:
            _attempts.reset(reset)
            if method != "GET":
                # A write whose answer is lost is looked up next; that check gets a whole deadline of its own.
                page_deadline.restart()
            elapsed = time.monotonic() - started
            REQUESTS_TOTAL.labels(method, template, label).inc()
            REQUEST_SECONDS.labels(method, template).observe(elapsed)
            failed = outcome in {"ServerError", "Unavailable", "BadResponse", "CircuitOpen"}
            logger.log(
                logging.WARNING if failed else logging.INFO,
                "Embrace %s %s: %s in %d ms",
                method,
                template,
                label,
                elapsed * 1000,
                extra={
                    "method": method,
                    "path": template,
                    "app_id": app_id,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "attempts": counter[0],
                    "outcome": outcome,
                },
            )

    @sensitive_variables("headers")
    def _send(
        self, method: str, base: str, url: str, params: dict | None, json_body: dict | None
    ) -> requests.Response:
        request_id = current_request_id.get()
        headers = {REQUEST_ID_HEADER: request_id if request_id != "-" else new_request_id()}
        write = method == "POST"
        timeouts = (settings.UPSTREAM_CONNECT_TIMEOUT, settings.UPSTREAM_READ_TIMEOUT)
        if not write:
            left = page_deadline.remaining()
            if left is not None and left < _MIN_ATTEMPT_SECONDS:
                # Nothing is sent, so nothing can have reached Embrace.
                raise Unavailable("Embrace didn't answer in time. Try again in a minute.", timed_out=True)
            timeouts = _DeadlineTimeout(*timeouts)
        try:
            return _session(base, write=write).request(
                method,
                url,
                params=params,
                json=json_body,
                headers=headers,
                auth=_Bearer(self._token),
                timeout=timeouts,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            raise _failure(exc) from exc


class Client(_Caller):
    """Calls the Custom Metrics API with one user's token, for the token's region."""

    def list_metrics(self, app_id: str) -> tuple[CustomMetric, ...]:
        return tuple(row.full() for row in self.list_rows(app_id))

    def list_rows(self, app_id: str) -> MetricRows:
        """The app's metrics as list rows: the cheap form when only some of them are looked at closely."""
        app_id = validate_app_id(app_id)
        answer = self._call(
            "GET",
            _LIST_PATH,
            app_id,
            (),
            not_found=f"Embrace doesn't know app {app_id}. Check the app ID and the token's region.",
            decode=_decode_list,
        )
        if answer.payload is None:  # an empty body
            raise BadResponse(status=answer.status)
        return answer.payload

    def find_metric(self, app_id: str, name: str) -> CustomMetric | None:
        """The app's metric with exactly this name (Embrace has no get-by-name), or None."""
        validate_metric_name(name)
        return next((m.full() for m in self.list_rows(app_id) if m.name == name), None)

    def create_metric(self, app_id: str, body: dict) -> CustomMetric:
        """Create a metric. Never retried: on ``Unavailable`` with ``may_have_reached``, look it up."""
        app_id = validate_app_id(app_id)
        validate_metric_name(body.get("name") if isinstance(body, dict) else None)
        answer = self._call(
            "POST",
            _LIST_PATH,
            app_id,
            (),
            json_body=body,
            not_found=f"Embrace doesn't know app {app_id}. Check the app ID and the token's region.",
            conflict=f"A metric named {body['name']} already exists in app {app_id}.",
        )
        try:
            return _metric_from_json(answer.payload)
        except ValueError as exc:
            raise BadResponse(status=answer.status) from exc

    def delete_metric(self, app_id: str, name: str) -> None:
        """Delete by name. ``NotFound`` means it was already gone (perhaps by an earlier, retried attempt)."""
        app_id = validate_app_id(app_id)
        name = validate_metric_name(name)
        self._call(
            "DELETE",
            _METRIC_PATH,
            app_id,
            (name,),
            not_found=f"The metric {name} was already deleted.",
            conflict=f"Embrace couldn't delete {name} right now. Try again in a minute.",
        )

    def parameters(self, app_id: str, metric: str | None = None) -> dict[str, catalog.BaseMetric]:
        """The base metrics Embrace supports for this app, with their filters and group-bys."""
        app_id = validate_app_id(app_id)
        params = None
        if metric is not None:
            params = {"name": validate_metric_name(metric)}
        answer = self._call(
            "GET",
            _PARAMETERS_PATH,
            app_id,
            ("parameters",),
            params=params,
            not_found=f"Embrace doesn't know app {app_id}. Check the app ID and the token's region.",
        )
        try:
            return catalog.from_parameters(answer.payload)
        except ValueError as exc:
            raise BadResponse(status=answer.status) from exc

    # The path is built from validated, percent-encoded segments; ``template`` names it in logs and metrics.
    def _call(
        self,
        method: str,
        template: str,
        app_id: str,
        tail: tuple[str, ...],
        *,
        params: dict | None = None,
        json_body: dict | None = None,
        not_found: str,
        conflict: str = "Embrace reported a conflict. Try again in a minute.",
        decode=None,
    ) -> _Answer:
        base = base_url(self.region)
        segments = ("api", "v1", "app", app_id, "custom-metrics", *tail)
        url = base + "/" + "/".join(quote(segment, safe="") for segment in segments)
        return self._exchange(
            method,
            base,
            url,
            template,
            app_id,
            params,
            json_body,
            lambda response: self._interpret(response, app_id, not_found, conflict, decode or _json),
        )

    def _interpret(
        self, response: requests.Response, app_id: str, not_found: str, conflict: str, decode
    ) -> _Answer:
        status = response.status_code
        if 300 <= status < 400 or status < 200:
            # Never followed: the token must not travel to wherever the redirect points.
            raise BadResponse(status=status)
        body = _read_body(response)
        if 200 <= status < 300:
            if not body.strip():
                return _Answer(status, None)
            try:
                return _Answer(status, decode(body))
            except ValueError as exc:
                raise BadResponse(status=status) from exc
        upstream_message = self._upstream_message(body)
        if status in (401, 403):
            raise Forbidden(
                f"Your Embrace token was refused for app {app_id}. It may be wrong, expired, or not allowed "
                "for this app. Update it in your token settings.",
                status=status,
            )
        if status == 404:
            raise NotFound(not_found, status=status)
        if status == 409:
            raise Conflict(conflict, status=status)
        if status == 429:
            retry_after = _retry_after(response)
            wait = _wait_words(retry_after)
            raise ServerError(f"Embrace is busy. Try again {wait}.", status=status, retry_after=retry_after)
        if 400 <= status < 500:
            raise Rejected(upstream_message, status=status)
        if 500 <= status < 600:
            raise ServerError(
                "Embrace had a problem. Try again in a minute.",
                status=status,
                retry_after=_retry_after(response),
            )
        raise BadResponse(status=status)

    def _upstream_message(self, body: bytes) -> str:
        try:
            payload = _json(body)
        except ValueError:
            return ""
        message = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(message, str):
            return ""
        return message.replace(self._token, "[redacted]").strip()[:_UPSTREAM_MESSAGE_MAX]


# --- The Metrics API (PromQL) -------------------------------------------------------------------------
# Embrace's Prometheus-compatible read API, with its own "Metrics API" token. Same sessions, breaker per
# base URL, deadline, log line and counters as above; Prometheus's error envelope becomes the same errors.

_QUERY_RANGE_PATH = "/api/v1/query_range"
_NAMES_PATH = "/api/v1/label/__name__/values"
_PROMETHEUS_WORDS = {
    "bad_data": "Embrace couldn't read the chart's query",
    "execution": "Embrace couldn't compute the chart",
    "timeout": "Embrace took too long to compute the chart",
    "canceled": "Embrace stopped computing the chart",
}


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels (sorted pairs, ``__name__`` included) and its points."""

    labels: tuple[tuple[str, str], ...]
    points: tuple[tuple[int, float], ...]  # (unix seconds, value), oldest first, finite values only

    def label(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.labels if key == name), default)


def _series_from_json(item: object) -> Series:
    if not isinstance(item, dict) or not isinstance(item.get("metric"), dict):
        raise ValueError("series")
    values = item.get("values")
    if not isinstance(values, list):
        raise ValueError("values")
    labels = tuple(sorted((str(k), str(v)) for k, v in item["metric"].items()))
    points = []
    for pair in values:
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("point")
        stamp, value = float(pair[0]), float(pair[1])
        if math.isfinite(stamp) and math.isfinite(value):
            points.append((int(stamp), value))
    return Series(labels, tuple(points))


class MetricsApi(_Caller):
    """Reads series from Embrace's Metrics API with one user's Metrics API token."""

    def metric_names(self) -> tuple[str, ...]:
        """Every series name the token can see (Prometheus's ``label/__name__/values``)."""
        data = self._get(_NAMES_PATH, {})
        if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
            raise BadResponse(status=200)
        return tuple(data)

    def query_range(self, query: str, start: int, end: int, step: int) -> tuple[Series, ...]:
        """A PromQL range query; ``start``/``end`` are unix seconds, ``step`` seconds."""
        data = self._get(_QUERY_RANGE_PATH, {"query": query, "start": start, "end": end, "step": step})
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise BadResponse(status=200)
        result = data.get("result")
        if not isinstance(result, list):
            raise BadResponse(status=200)
        try:
            return tuple(_series_from_json(item) for item in result)
        except (TypeError, ValueError) as exc:
            raise BadResponse(status=200) from exc

    def _get(self, template: str, params: dict) -> object:
        base = metrics_api_url(self.region)
        answer = self._exchange("GET", base, base + template, template, "-", params, None, self._interpret)
        return answer.payload

    def _interpret(self, response: requests.Response) -> _Answer:
        status = response.status_code
        if 300 <= status < 400 or status < 200:
            raise BadResponse(status=status)  # never followed, as above
        body = _read_body(response)
        try:
            payload = _json(body)
        except ValueError:
            payload = None
        envelope = payload if isinstance(payload, dict) else {}
        if 200 <= status < 300:
            if envelope.get("status") != "success" or "data" not in envelope:
                raise BadResponse(status=status)
            return _Answer(status, envelope["data"])
        if status in (401, 403):
            raise Forbidden(
                "Your Metrics API token was refused. It may be wrong, expired or revoked. "
                "Update it in your token settings.",
                status=status,
            )
        if status == 404:
            raise NotFound(
                "Embrace's Metrics API isn't at this address. Check the token's region.", status=status
            )
        if status == 429 or 500 <= status < 600:
            retry_after = _retry_after(response)
            wait = "in a minute" if status != 429 else _wait_words(retry_after)
            words = "Embrace is busy" if status == 429 else "Embrace had a problem"
            raise ServerError(f"{words}. Try again {wait}.", status=status, retry_after=retry_after)
        if 400 <= status < 500:
            kind = envelope.get("errorType")
            text = envelope.get("error")
            detail = (
                text.replace(self._token, "[redacted]")[:_UPSTREAM_MESSAGE_MAX]
                if isinstance(text, str)
                else ""
            )
            words = _PROMETHEUS_WORDS.get(
                kind if isinstance(kind, str) else "", "Embrace refused the chart's query"
            )
            error = Rejected(detail, status=status)
            error.message = f"{words}: {detail}" if detail else f"{words}."
            raise error
        raise BadResponse(status=status)
