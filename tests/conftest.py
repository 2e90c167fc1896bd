"""Fixtures shared by every test: the live sandbox, the seeded demo data, and the browser."""

import json
import os
import re
import shutil
from io import StringIO

import pytest
from django.core.management import call_command

# Playwright's sync API runs an event loop in the test thread; Django must not refuse ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["tests.faults"]


@pytest.fixture
def seed(db) -> dict:
    """Run ``sandbox_seed --json`` and return what it printed: token, apps and the forbidden app."""
    out = StringIO()
    call_command("sandbox_seed", "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture
def sandbox_url(live_server, settings) -> str:
    """The live server's sandbox, wired in as the console's built-in upstream."""
    url = f"{live_server.url}/custom-metrics"
    settings.SANDBOX_BASE_URL = url
    return url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium"),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _a_cache_of_its_own():
    """Each pytest-xdist worker gets its own Redis database (2, 3, ...), so one worker's ``cache.clear()``
    never empties the locks and counters of a test running in another."""
    from django.conf import settings
    from django.test.utils import override_settings

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    default = settings.CACHES["default"]
    if not worker or "redis" not in default["BACKEND"].lower():
        yield
        return
    database = 2 + int(worker.removeprefix("gw") or 0)
    location = re.sub(r"(redis://[^/?]+)(/\d+)?", rf"\g<1>/{database}", default["LOCATION"], count=1)
    with override_settings(CACHES={**settings.CACHES, "default": {**default, "LOCATION": location}}):
        yield


@pytest.fixture(autouse=True)
def _fresh_write_limits():
    """Every test starts with no writes counted against the per-user rate limit: user ids repeat
    across tests (rolled-back rows), and the counters live in the cache, which outlives a test."""
    from django.core.cache import cache

    cache.clear()
