"""A fault-injecting upstream for tests: a small HTTP server and a TCP proxy on loopback.

Real sockets, so urllib3's retries, timeouts and connection errors behave exactly as in production (faults
injected into ``responses`` skip urllib3's retry loop). Loaded as a pytest plugin by ``tests/conftest.py``.

Fixtures
--------
``fault_upstream``
    A standalone ``FaultServer`` standing in for Embrace. The built-in sandbox region points at it
    (``settings.SANDBOX_BASE_URL = fault_upstream.url``), so ``upstream.Client(token, "sandbox")`` and every
    console view talk to it. By default it answers ``200 {"results": []}``.
``fault_proxy``
    A ``FaultServer`` in proxy mode in front of the live sandbox (uses ``sandbox_url``); the sandbox region
    points at the proxy. By default it forwards every request unchanged, so ``seed`` data is visible.
``fault_other_host``
    A second standalone server, e.g. a redirect target: ``fault_other_host.requests`` tells whether it was
    contacted and with which headers (``authorization`` must never be among them).
``closed_port_url``
    A base URL on loopback where nothing accepts connections (connection refused).
``fast_upstream_settings``
    Short timeouts and backoff so fault tests stay fast: connect 0.5 s, read 0.5 s, backoff 0.05 s,
    breaker 3 failures / 0.5 s cool-down. Returns pytest-django's ``settings`` for further overrides.
Every test starts with fresh circuit breakers and ends with pooled connections closed (autouse).

Behaviour
---------
Each incoming request is recorded, then answered by the next *one-shot* action queued with
``.script([...])``, or, when the queue is empty, by the *default* action. The setters replace the default
and return the server, so they chain::

    fault_upstream.respond(503)                      # every request: 503
    fault_upstream.json({"results": []})             # every request: 200 with that JSON
    fault_upstream.respond(429, headers={"Retry-After": "1"})
    fault_upstream.hang()                            # read the request, never answer (released at test end)
    fault_upstream.reset()                           # read the request, then RST (SO_LINGER 0)
    fault_upstream.reset(body={"results": []})       # send headers and half the body, then RST
    fault_upstream.redirect(fault_other_host.url + "/x")
    fault_upstream.script([Respond(503), Respond(503), Respond(200, {"results": []})])
    fault_proxy.forward(then="hang")                 # sandbox processes it; the client never hears back
    fault_proxy.script([Forward(then="reset")])      # only the next request; later ones are forwarded

Actions (frozen dataclasses, usable in ``script``):

* ``Respond(status=200, body=b"", headers={}, delay=0.0, drip=0.0, chunked=False)``: ``body`` may be bytes,
  str, or a dict/list (sent as JSON with ``Content-Type: application/json``). ``delay`` waits before the
  status line (answer slowly); ``drip`` sends the body in 16 pieces with that pause between them;
  ``chunked`` sends it with ``Transfer-Encoding: chunked`` (no ``Content-Length``).
  Helpers: ``big_json(size)`` (a valid JSON body of about ``size`` bytes), ``html()``.
* ``Hang(seconds=None)``: answer nothing; the connection is held until the test ends (or ``seconds``,
  at most ``MAX_HANG_SECONDS``).
* ``Reset(body=None, status=200)``: abort with a TCP reset, before any response or, with ``body``, mid-body.
* ``Forward(then="return")`` (proxy only): send the request to the real upstream and read its whole answer;
  then ``"return"`` it, ``"hang"`` instead, or ``"reset"`` instead.

Inspection: ``.requests`` (list of ``Recorded``: ``method``, ``path`` (as sent, percent-encoded, with query),
``headers`` (lower-case names), ``body`` (bytes), ``.json()``, ``forwarded_status`` (proxy: the real
upstream's status), ``at`` (``time.monotonic()`` on arrival)); ``.count(method=None)``; ``.connections``
(accepted connections); ``.clear()`` forgets requests. Every answer carries ``Connection: close``, so each
attempt arrives on its own connection and ``.connections`` counts attempts too.
"""

from __future__ import annotations

import collections
import json
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest

MAX_HANG_SECONDS = 30.0
_HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Respond:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    chunked: bool = False

    def payload(self) -> bytes:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body

    def head(self, length: int | None) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        headers = {"Content-Type": "application/json"} if isinstance(self.body, dict | list) else {}
        headers.update(self.headers)
        headers["Connection"] = "close"
        if self.chunked:
            headers["Transfer-Encoding"] = "chunked"
        elif length is not None:
            headers["Content-Length"] = str(length)
        lines = [f"HTTP/1.1 {self.status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(frozen=True)
class Hang:
    seconds: float | None = None


@dataclass(frozen=True)
class Reset:
    body: bytes | str | dict | list | None = None
    status: int = 200


@dataclass(frozen=True)
class Forward:
    then: str = "return"

    def __post_init__(self) -> None:
        if self.then not in {"return", "hang", "reset"}:
            raise ValueError("Forward(then=...) is 'return', 'hang' or 'reset'")


Action = Respond | Hang | Reset | Forward


def big_json(size: int) -> bytes:
    """A valid JSON list response of about ``size`` bytes, so only its size is wrong."""
    return b'{"results": [], "padding": "' + b"x" * max(0, size - 30) + b'"}'


def html(status_text: str = "Service Unavailable") -> str:
    return f"<!doctype html><html><body><h1>{status_text}</h1><p>nginx</p></body></html>"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    forwarded_status: int | None = None

    def json(self) -> object:
        return json.loads(self.body)


class FaultServer:
    """A loopback HTTP server (or, with ``target``, a proxy to it) that misbehaves on request."""

    def __init__(self, target: tuple[str, int] | None = None, prefix: str = "/custom-metrics") -> None:
        self.target = target
        self._default: Action = Forward() if target else Respond(200, {"results": []})
        self._queue: collections.deque[Action] = collections.deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: list[Recorded] = []
        self._threads: list[threading.Thread] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{prefix}"
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"fault-{self.port}", daemon=True)

    # --- control -----------------------------------------------------------------------------------
    def start(self) -> FaultServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join(timeout=2)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def respond(self, status: int = 200, body: bytes | str | dict | list = b"", headers=None, **options):
        return self._set(Respond(status, body, dict(headers or {}), **options))

    def json(self, payload: object, status: int = 200, headers=None):
        return self._set(Respond(status, payload, dict(headers or {})))

    def hang(self, seconds: float | None = None):
        return self._set(Hang(seconds))

    def reset(self, body: bytes | str | dict | list | None = None, status: int = 200):
        return self._set(Reset(body, status))

    def redirect(self, location: str, status: int = 302):
        return self._set(Respond(status, b"", {"Location": location}))

    def forward(self, then: str = "return"):
        if not self.target:
            raise RuntimeError("forward() needs a proxy (fault_proxy), not a standalone server")
        return self._set(Forward(then))

    def script(self, actions: Iterable[Action]):
        with self._lock:
            self._queue.extend(actions)
        return self

    def _set(self, action: Action):
        with self._lock:
            self._default = action
        return self

    # --- inspection --------------------------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def count(self, method: str | None = None) -> int:
        return sum(1 for r in self.requests if method is None or r.method == method)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- serving -----------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            raw, recorded = _read_request(conn)
            if recorded is None:
                conn.close()
                return
            with self._lock:
                self._requests.append(recorded)
                action = self._queue.popleft() if self._queue else self._default
            self._perform(action, conn, raw, recorded)
        except OSError:
            pass  # the client gave up (timeout, oversized body refused): nothing more to do
        finally:
            conn.close()

    def _perform(self, action: Action, conn: socket.socket, raw: bytes, recorded: Recorded) -> None:
        if isinstance(action, Respond):
            self._respond(action, conn)
        elif isinstance(action, Hang):
            self._stop.wait(min(action.seconds or MAX_HANG_SECONDS, MAX_HANG_SECONDS))
        elif isinstance(action, Reset):
            if action.body is not None:
                partial = Respond(action.status, action.body)
                payload = partial.payload()
                conn.sendall(partial.head(len(payload)) + payload[: len(payload) // 2])
                time.sleep(0.05)
            _abort(conn)
        elif isinstance(action, Forward):
            if not self.target:
                raise RuntimeError("Forward needs a proxy target")
            answer = _forward(self.target, raw)
            recorded.forwarded_status = _status_of(answer)
            if action.then == "return":
                conn.sendall(_close_after(answer))
            elif action.then == "hang":
                self._stop.wait(MAX_HANG_SECONDS)
            else:
                _abort(conn)

    def _respond(self, action: Respond, conn: socket.socket) -> None:
        if action.delay and self._stop.wait(action.delay):
            return
        payload = action.payload()
        conn.sendall(action.head(None if action.chunked else len(payload)))
        size = -(-len(payload) // 16) if action.drip else 256 * 1024
        pieces = [payload[i : i + size] for i in range(0, len(payload), max(1, size))]
        for piece in pieces:
            if action.drip and self._stop.wait(action.drip):
                return
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if action.chunked else piece)
        if action.chunked:
            conn.sendall(b"0\r\n\r\n")


def _read_request(conn: socket.socket) -> tuple[bytes, Recorded | None]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data, None
        data += chunk
        if not data[:1].isalpha() or len(data) > _HEAD_LIMIT:  # not HTTP (e.g. a TLS hello): hang up
            return data, None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    recorded = Recorded(method, path, headers, body[:length], time.monotonic())
    return head + b"\r\n\r\n" + body[:length], recorded


def _abort(conn: socket.socket) -> None:
    """Close with a TCP reset instead of an orderly FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _forward(target: tuple[str, int], raw: bytes) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = [
        line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in {b"host", b"connection"}
    ]
    host = f"{target[0]}:{target[1]}".encode()
    request = b"\r\n".join([lines[0], b"Host: " + host, b"Connection: close", *kept]) + b"\r\n\r\n" + body
    with socket.create_connection(target, timeout=30) as upstream:
        upstream.sendall(request)
        chunks = []
        while chunk := upstream.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_of(answer: bytes) -> int | None:
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def _close_after(answer: bytes) -> bytes:
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + body


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_breakers():
    """No test inherits an open circuit or a kept-alive connection from another (the live server's URL is
    the same for all, and its request threads must not outlive the test that opened them)."""
    from metrics_ui import upstream

    upstream.reset_breakers()
    yield
    upstream.reset_breakers()
    upstream.close_sessions()


@pytest.fixture
def fast_upstream_settings(settings):
    settings.UPSTREAM_CONNECT_TIMEOUT = 0.5
    settings.UPSTREAM_READ_TIMEOUT = 0.5
    settings.UPSTREAM_BACKOFF_FACTOR = 0.05
    settings.UPSTREAM_BREAKER_FAILURES = 3
    settings.UPSTREAM_BREAKER_RESET_SECONDS = 0.5
    return settings


@pytest.fixture
def fault_upstream(settings):
    server = FaultServer().start()
    settings.SANDBOX_BASE_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def fault_other_host():
    server = FaultServer().start()
    yield server
    server.stop()


@pytest.fixture
def fault_proxy(sandbox_url, settings):
    parts = urlsplit(sandbox_url)
    server = FaultServer(target=(parts.hostname, parts.port), prefix=parts.path).start()
    settings.SANDBOX_BASE_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def closed_port_url(settings):
    # A bound socket that never listens: the kernel refuses every connection to it, and no other test can
    # take the port while this fixture holds it.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{holder.getsockname()[1]}/custom-metrics"
    settings.SANDBOX_BASE_URL = url
    yield url
    holder.close()
