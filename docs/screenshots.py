"""Screenshots of the console's main pages for the docs, taken in a real browser.

    .venv/bin/python docs/screenshots.py                          # starts its own console, like bin/run
    .venv/bin/python docs/screenshots.py --url http://127.0.0.1:8000   # uses a running bin/run

Without ``--url`` it starts the product the way ``bin/run`` does (migrate, ``sandbox_seed``,
``demo_setup``, ``runserver``) on a free loopback port with a throwaway SQLite database, so the pictures
always show the same seed data and the developer's own database is left alone. It signs in as the demo
user and writes 1280 x 900 PNGs into ``docs/screenshots/``: home, list, detail, create (with a nested
filter) and tokens. Debian's chromium drives the pages (never ``playwright install``).
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-password"
APP = "appID1"
TEN_CONDITIONS = """{"op": "and", "children": [
  {"field_op": "eq", "key": "app_version", "val": "1.2"},
  {"field_op": "in", "key": "os_version", "val": ["12", "13", "14"]},
  {"field_op": "eq", "key": "country", "val": "US"},
  {"op": "or", "children": [
    {"field_op": "eq", "key": "model", "val": "Pixel 8"},
    {"field_op": "eq", "key": "model", "val": "Pixel 7"},
    {"op": "and", "children": [
      {"field_op": "eq", "key": "has_anr", "val": true},
      {"field_op": "eq", "key": "app_version", "val": "1.3"}
    ]}
  ]},
  {"field_op": "eq", "key": "os_version", "val": "15"},
  {"field_op": "gte", "key": "os_major_version", "val": 12},
  {"field_op": "neq", "key": "model", "val": "Pixel 6"}
]}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@contextmanager
def console():
    """The product as bin/run starts it, on a throwaway database; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="console-screenshots-") as tmp:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "SANDBOX_BASE_URL": f"{url}/custom-metrics",
        }
        env.pop("CACHE_URL", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        for command in (["migrate", "--no-input", "-v", "0"], ["sandbox_seed"], ["demo_setup"]):
            subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(url)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


def settle(page: Page) -> None:
    """Wait until no htmx request is in flight."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name).click()
    settle(page)


def set_condition(page: Page, number: str, key: str, value: str) -> None:
    page.get_by_label(f"Condition {number}: filter on").select_option(key)
    expect(page.get_by_label(f"Condition {number}: comparison")).to_have_value("eq")
    field = page.get_by_label(f"Condition {number}: value", exact=True)
    field.fill(value)
    field.press("Tab")
    settle(page)


def shoot(page: Page, name: str) -> None:
    settle(page)
    page.mouse.move(0, 0)  # no hover highlight or focus ring in the picture
    page.evaluate("document.activeElement?.blur()")
    path = OUT / f"{name}.png"
    page.screenshot(path=path)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")


def take(url: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("docs/screenshots.py needs Debian's chromium (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_context(base_url=url, viewport=VIEWPORT).new_page()

        page.goto("/login/")
        page.get_by_label("Username").fill(DEMO_USERNAME)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/")
        shoot(page, "home")

        page.goto(f"/apps/{APP}/")
        shoot(page, "list")

        page.locator("#metric-table tbody a").first.click()
        page.wait_for_url(f"{url}/apps/{APP}/metrics/**")
        shoot(page, "detail")

        page.goto(f"/apps/{APP}/metrics/new/")
        page.get_by_label("Name", exact=True).fill("sessions_by_version")
        click(page, "Add a condition to the whole filter")
        set_condition(page, "1", "app_version", "1.2")
        click(page, "Add a group to the whole filter")
        click(page, "Switch group 2 to “any of”")
        set_condition(page, "2.1", "os_version", "12")
        click(page, "Clone condition 2.1")
        field = page.get_by_label("Condition 2.2: value", exact=True)
        field.fill("13")
        field.press("Tab")
        settle(page)
        expect(page.locator("#filter-sentence")).to_contain_text("OS version is 13")
        page.locator("#filter-tree").scroll_into_view_if_needed()
        shoot(page, "create")

        # A nested filter of ten conditions: how much room the builder takes for a realistic filter.
        page.goto(f"/apps/{APP}/metrics/new/")
        page.get_by_label("Name", exact=True).fill("failed_checkouts")
        page.locator("#json-view summary").click()
        settle(page)  # opening the JSON view refreshes it
        page.get_by_label("Paste a filter or a whole request body as JSON").fill(TEN_CONDITIONS)
        click(page, "Fill the form from this JSON")
        expect(page.locator("#filter-sentence")).to_contain_text("country")
        page.locator("#json-view summary").click()
        page.locator("#filter-tree").scroll_into_view_if_needed()
        shoot(page, "create-ten-conditions")

        page.goto("/tokens/")
        shoot(page, "tokens")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running console (e.g. bin/run's http://127.0.0.1:$PORT)")
    url = parser.parse_args().url
    if url:
        take(url.rstrip("/"))
    else:
        with console() as started:
            take(started)


if __name__ == "__main__":
    main()
