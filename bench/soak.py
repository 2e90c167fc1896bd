"""Soak: several people use the console for a while, through an upstream that fails 10% of requests.

    .venv/bin/python bench/soak.py [--minutes 10] [--users 4] [--fault-rate 0.10] [--seed 7]

Loopback only, bounded in time. Three pieces run on 127.0.0.1:

* the **upstream**: the sandbox (the Custom Metrics API) in its own gunicorn instance;
* a **fault proxy** in front of it (``tests/faults.py``'s ``FaultServer`` in proxy mode, in this process)
  that spoils ``--fault-rate`` of the requests: 500s, hangs past the console's read timeout, resets before
  any answer, and the two nastiest cases, where the sandbox *does* process the request and the console
  never hears back (forwarded, then hang or reset);
* the **console** under test: gunicorn (2 workers x 4 threads, ``gunicorn.conf.py``), SQLite file
  database in a temporary directory, calling the sandbox through the proxy.

``--users`` simulated people (threads, each a signed-in ``requests.Session``) mix: metric list, detail,
builder actions, create (unique names per person) and delete (of their own metrics).

Bookkeeping: every create and delete outcome the console *reports* is recorded per metric name, by
what the page says (see ``classify_create``/``classify_delete``). At the end the sandbox is read
directly (not through the proxy) and compared:

* **lost**: the console's last word was "created" (a redirect to the metric) and the metric is absent;
* **phantom**: the console's last word was "not created" (``it was not created``, or a failure before
  Embrace could have processed it) and the metric is present;
* **resurrected**: the console said "deleted" (or "already deleted") and the metric is present;
* **duplicated**: a name present more than once (impossible if the sandbox keeps names unique);
* **unconfirmed**: the console said it "couldn't check whether the metric was created": either state is
  truthful; how many turned out present is reported;
* **delete reported failed but gone**: the console said "Nothing was deleted" and the metric is gone. Must be
  0: when a DELETE's answer is lost the console looks the metric up before saying anything, and says it "may
  already be deleted" when the look-up fails too.

Lost, phantom, resurrected and duplicated must be 0, as must console 5xx answers and tokens in the logs.
Also printed: console worker memory (RSS) after warm-up and at the end.
Prints figures; it exits 1 if a must-be-zero figure is not zero.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from servers import BASE_DIR, PREPARE, PYTHON, Instance, free_port, rss_kib, server_env

sys.path.insert(0, str(BASE_DIR))
from tests.faults import FaultServer, Forward, Hang, Reset, Respond

APPS = ("appID1", "appID2")
READ_TIMEOUT = 2.0  # the console's read timeout for this run: faults cost seconds, not tens of seconds

ADD_USERS = """
import django
django.setup()
from metrics_ui.models import ApiToken, User
for i in range({users}):
    user = User.objects.create_user(f"soak{{i}}", password="soak-password-{{i}}".format(i=i), role="editor")
    token = ApiToken(user=user, label="Sandbox", region="sandbox")
    token.set_token({token!r})
    token.save()
    token.set_apps({apps!r})
"""


class FlakyProxy(FaultServer):
    """The proxy spoils a share of requests at random; the rest are forwarded unchanged."""

    def __init__(self, target: tuple[str, int], rate: float, seed: int) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.spoiled: collections.Counter[str] = collections.Counter()
        super().__init__(target=target, prefix="/custom-metrics")

    @property
    def _default(self):
        roll = self.random.random() / self.rate  # under 1.0 for ``rate`` of the requests
        if roll >= 1.0:
            return Forward()
        # 40% 500s, 30% timeouts (half of them processed by the sandbox), 30% resets (half processed).
        kinds = [
            (0.40, "500", Respond(500, {"message": "soak: internal error"})),
            (0.55, "hang", Hang(READ_TIMEOUT + 1)),
            (0.70, "processed, then hang", Forward(then="hang")),
            (0.85, "reset", Reset()),
            (1.00, "processed, then reset", Forward(then="reset")),
        ]
        for limit, name, action in kinds:
            if roll < limit:
                self.spoiled[name] += 1
                return action
        return Forward()

    @_default.setter
    def _default(self, value) -> None:
        pass  # FaultServer's constructor sets a default; this proxy draws one per request instead


# --- one simulated person ------------------------------------------------------------------------


@dataclass
class Person:
    index: int
    console: str
    random: random.Random
    stop_at: float
    session: requests.Session = field(default_factory=requests.Session)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    actions: collections.Counter = field(default_factory=collections.Counter)
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    last_word: dict = field(default_factory=dict)  # (app, name) -> what the console said last
    present: set = field(default_factory=set)  # (app, name) the person believes exist
    created: int = 0
    errors: list = field(default_factory=list)
    latencies: list = field(default_factory=list)

    def sign_in(self) -> None:
        self.session.get(f"{self.console}/login/", timeout=30)
        self.session.post(
            f"{self.console}/login/",
            data={"csrfmiddlewaretoken": self.csrf, "username": f"soak{self.index}",
                  "password": f"soak-password-{self.index}"},
            timeout=30,
        )  # fmt: skip
        if "Sign out" not in self.session.get(f"{self.console}/", timeout=60).text:
            raise RuntimeError(f"soak{self.index} could not sign in")

    @property
    def csrf(self) -> str:
        return self.session.cookies.get("console_csrftoken", "")

    def request(self, method: str, path: str, **kwargs) -> requests.Response | None:
        headers = kwargs.pop("headers", {})
        if method == "POST":
            headers["X-CSRFToken"] = self.csrf
        started = time.monotonic()
        try:
            response = self.session.request(
                method, f"{self.console}{path}", headers=headers, timeout=120, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            self.statuses["no answer"] += 1
            return None
        self.latencies.append(time.monotonic() - started)
        self.statuses[
            response.status_code // 100 * 100 if response.status_code < 500 else response.status_code
        ] += 1
        if response.status_code >= 500:
            self.errors.append(
                f"{method} {path}: {response.status_code} ref {response.headers.get('X-Request-ID')}"
            )
        return response

    def run(self) -> None:
        while time.monotonic() < self.stop_at:
            action = self.random.choices(
                ["list", "detail", "builder", "create", "delete"], weights=[30, 20, 15, 20, 15]
            )[0]
            self.actions[action] += 1
            getattr(self, action)()
            time.sleep(self.random.uniform(0.1, 0.4))  # a person reads before the next click

    def app(self) -> str:
        return self.random.choice(APPS)

    def list(self) -> None:
        self.request("GET", f"/apps/{self.app()}/")

    def detail(self) -> None:
        if not self.present:
            return self.list()
        app, name = self.random.choice(sorted(self.present))
        self.request("GET", f"/apps/{app}/metrics/{name}/")

    def builder(self) -> None:
        data = {**create_form("draft"), "action": "add_condition:0"}
        self.request("POST", f"/apps/{self.app()}/metrics/new/", data=data, headers={"HX-Request": "true"})

    def create(self) -> None:
        app = self.app()
        self.created += 1
        name = f"soak_u{self.index}_{self.created}"
        response = self.request("POST", f"/apps/{app}/metrics/new/", data=create_form(name))
        word = classify_create(response, app, name)
        self.outcomes[f"create: {word}"] += 1
        self.last_word[(app, name)] = word
        if word == "created":
            self.present.add((app, name))

    def delete(self) -> None:
        if not self.present:
            return self.create()
        app, name = self.random.choice(sorted(self.present))
        response = self.request("POST", f"/apps/{app}/metrics/{name}/delete/", data={"confirm_name": name})
        word = classify_delete(response, app)
        self.outcomes[f"delete: {word}"] += 1
        if word == "deleted":
            self.present.discard((app, name))
            self.last_word[(app, name)] = "deleted"
        elif word == "delete failed":
            self.last_word[(app, name)] = "delete failed"


def create_form(name: str) -> dict:
    return {
        "name": name,
        "metric": "sessions_total",
        "built_for": "sessions_total",
        "group_by": ["app_version"],
        "time_granularity": ["hourly"],
        "data_destination": ["metrics_api"],
        "action": "create",
        "filter-0-node": "group",
        "filter-0-connector": "and",
        "filter-0.0-node": "condition",
        "filter-0.0-key": "app_version",
        "filter-0.0-op": "eq",
        "filter-0.0-value": "1.2",
    }


def classify_create(response: requests.Response | None, app: str, name: str) -> str:
    """What the console told the person about one create, in the bookkeeping's words."""
    if response is None:
        return "no answer"
    if response.status_code == 302 and response.headers.get("Location", "").endswith(
        f"/{app}/metrics/{name}/"
    ):
        return "created"
    if response.status_code == 429:
        return "not created"  # the write limit: nothing was sent
    text = response.text
    if "it was not created" in text:
        return "not created"
    if "check whether the metric was created" in text:
        return "unconfirmed"
    if "with different settings" in text:
        return "conflict"
    if 'id="create-outcome"' in text:
        return "failed"
    return "form error"


def classify_delete(response: requests.Response | None, app: str) -> str:
    if response is None:
        return "no answer"
    if response.status_code == 302 and response.headers.get("Location", "").endswith(f"/apps/{app}/"):
        return "deleted"  # "Deleted …" or "… was already deleted"
    if response.status_code == 429:
        return "limited"
    if "Nothing was deleted" in response.text:
        return "delete failed"
    if "It may already be deleted" in response.text:
        return "delete unconfirmed"  # the answer was lost and the look-up failed too: the page says so
    return "other"


# --- the run -----------------------------------------------------------------------------------------------


def console_rss(console: Instance) -> dict[int, int]:
    return {pid: rss_kib(pid) for pid in console.worker_pids()}


def sandbox_names(upstream: Instance, token: str) -> dict[str, list[str]]:
    names = {}
    for app in APPS:
        response = requests.get(
            f"{upstream.url}/custom-metrics/api/v1/app/{app}/custom-metrics",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        response.raise_for_status()
        names[app] = [m["name"] for m in response.json()["results"]]
    return names


def secrets_in(path: Path, secrets: list[str]) -> list[str]:
    text = path.read_text(errors="replace")
    found = [f"{path.name}: token …{s[-4:]}" for s in secrets if s in text]
    found += [f"{path.name}: {m}" for m in set(re.findall(r"Bearer [A-Za-z0-9._~+/=-]{8,}", text))]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10, help="how long the traffic runs (default 10)")
    parser.add_argument("--users", type=int, default=4, help="simulated people (default 4)")
    parser.add_argument("--fault-rate", type=float, default=0.10, help="share of upstream requests spoiled")
    parser.add_argument("--seed", type=int, default=7, help="random seed for faults and traffic")
    parser.add_argument("--keep-logs", action="store_true", help="print where the logs are and keep them")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="console-soak-"))
    upstream_port = free_port()
    # Every request and upstream call is logged at INFO: the logs are scanned for tokens.
    env = server_env(
        log_level="INFO",
        DATABASE_URL=f"sqlite:///{workdir / 'soak.sqlite3'}",
        UPSTREAM_CONNECT_TIMEOUT="1",
        UPSTREAM_READ_TIMEOUT=str(READ_TIMEOUT),
        # Several people share one process-wide limit counter per person; the soak is about faults, so
        # the write limit sits above what the simulated people do (their writes are ~10 a minute each).
        WRITE_RATE_LIMIT="120/m",
    )
    prepared = subprocess.run([PYTHON, "-c", PREPARE.format(no_migrations=True)], cwd=BASE_DIR, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
    if prepared.returncode != 0:
        raise SystemExit(f"could not prepare the database:\n{prepared.stderr}")
    token = json.loads(prepared.stdout.strip().splitlines()[-1])["token"]
    added = subprocess.run(
        [PYTHON, "-c", ADD_USERS.format(users=args.users, token=token, apps=list(APPS))],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if added.returncode != 0:
        raise SystemExit(f"could not add the soak users:\n{added.stderr}")

    instances: list[Instance] = []
    proxy = None
    try:
        upstream = Instance("upstream", {**env, "LOG_LEVEL": "WARNING"}, upstream_port, 1, 8, workdir)
        instances.append(upstream)
        proxy = FlakyProxy(("127.0.0.1", upstream_port), args.fault_rate, args.seed).start()
        console = Instance("console", {**env, "SANDBOX_BASE_URL": proxy.url}, free_port(), 2, 4, workdir)
        instances.append(console)

        rng = random.Random(args.seed)
        people = [Person(i, console.url, random.Random(rng.random()), 0.0) for i in range(args.users)]
        for person in people:
            person.sign_in()
        for person in people:  # warm-up: imports, templates and connection pools in both workers
            for app in APPS:
                person.request("GET", f"/apps/{app}/")
        rss_start = console_rss(console)
        started = time.monotonic()
        for person in people:
            person.stop_at = started + args.minutes * 60
        threads = [threading.Thread(target=p.run, name=f"soak{p.index}") for p in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        rss_end = console_rss(console)

        final = sandbox_names(upstream, token)
    finally:
        if proxy is not None:
            proxy.stop()
        for instance in instances:
            instance.stop()

    # --- compare what people were told with what the sandbox holds ---------------------------------
    present = {(app, name) for app, names in final.items() for name in names}
    duplicated = sum(len(names) - len(set(names)) for names in final.values())
    lost, phantom, resurrected = [], [], []
    unconfirmed_present = unconfirmed_total = delete_failed_gone = 0
    for person in people:
        for key, word in person.last_word.items():
            here = key in present
            if word == "created" and not here:
                lost.append(key)
            elif word in ("not created", "failed") and here:
                phantom.append(key)
            elif word == "deleted" and here:
                resurrected.append(key)
            elif word == "unconfirmed":
                unconfirmed_total += 1
                unconfirmed_present += here
            elif word == "delete failed" and not here:
                delete_failed_gone += 1
    statuses = sum((p.statuses for p in people), collections.Counter())
    outcomes = sum((p.outcomes for p in people), collections.Counter())
    actions = sum((p.actions for p in people), collections.Counter())
    console_5xx = sum(n for status, n in statuses.items() if isinstance(status, int) and status >= 500)
    leaks = []
    for log in workdir.glob("*.log"):
        leaks += secrets_in(log, [token])
    latencies = sorted(t for p in people for t in p.latencies)

    def pct(q: float) -> str:
        return (
            f"{latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000:.0f} ms"
            if latencies
            else "-"
        )

    print(f"\nSoak: {elapsed / 60:.1f} min, {args.users} people, upstream fault rate {args.fault_rate:.0%}, "
          f"console 2 gunicorn workers x 4 threads, SQLite, read timeout {READ_TIMEOUT:g} s.")  # fmt: skip
    print(f"requests to the console: {sum(statuses.values())} ({dict(sorted(statuses.items(), key=str))}); "
          f"p50 {pct(0.5)}, p95 {pct(0.95)}, max {pct(1.0)}")  # fmt: skip
    print(f"actions: {dict(actions)}")
    print(f"upstream requests spoiled by the proxy: {dict(proxy.spoiled)} of {proxy.connections} connections")
    print(f"outcomes as told: {dict(sorted(outcomes.items()))}")
    print(f"console 5xx: {console_5xx}")
    print(f"lost (told created, missing): {len(lost)} {lost[:5]}")
    print(f"phantom (told not created, present): {len(phantom)} {phantom[:5]}")
    print(f"resurrected (told deleted, present): {len(resurrected)} {resurrected[:5]}")
    print(f"duplicated names in the sandbox: {duplicated}")
    print(f"unconfirmed creates: {unconfirmed_total}, of which present at the end: {unconfirmed_present}")
    print(f"deletes told 'Nothing was deleted' but gone: {delete_failed_gone}")
    for pid in sorted(rss_start):
        end = rss_end.get(pid)
        print(f"console worker {pid}: RSS {rss_start[pid] / 1024:.1f} MiB after warm-up, "
              f"{(end or 0) / 1024:.1f} MiB at the end")  # fmt: skip
    print(f"tokens found in the logs: {len(leaks)} {leaks[:3]}")
    errors = [e for p in people for e in p.errors]
    if errors:
        print(f"console errors (first 5 of {len(errors)}): {errors[:5]}")
    if args.keep_logs:
        print(f"logs and database kept in {workdir}")
    else:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    wrong = len(lost) + len(phantom) + len(resurrected) + duplicated + delete_failed_gone
    must_be_zero = console_5xx + wrong + len(leaks)
    return 1 if must_be_zero else 0


if __name__ == "__main__":
    sys.exit(main())
