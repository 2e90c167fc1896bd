"""Benchmark: planning an import of 500 metrics into an app of 1,000, against a list page view.

    .venv/bin/python bench/import_plan.py [--metrics 1000] [--file-metrics 500] [--runs 15]

Starts the sandbox and the console under gunicorn on loopback (the same set-up as ``list_page.py``),
creates ``--metrics`` metrics in appID2 through the sandbox API, and builds an import file of
``--file-metrics`` entries: half identical to existing metrics, a tenth in conflict, the rest new.
Then times, interleaved, ``GET /apps/appID2/`` (the list page) and ``POST /apps/appID2/import/`` with
``stage=plan`` (read and check every entry, one list call, the plan page), and counts the upstream
list calls the plans made in the sandbox's access log. Prints both medians and their ratio (the
target: planning stays under 2x a list page view, with at most one list call per plan).

It prints figures and asserts nothing: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from list_page import (
    APP_ID,
    REPO,
    SANDBOX_GUNICORN_CONFIG,
    create_metrics,
    free_port,
    prepare_database,
    show,
    sign_in,
    timed_get,
    upstream_log_since,
    wait_until_up,
)


def import_file(existing: list[dict], size: int) -> str:
    """``size`` entries: half unchanged, a tenth in conflict (another granularity), the rest new."""
    unchanged, conflicts = size // 2, size // 10
    keys = ("name", "metric", "group_by", "filters", "time_granularity", "data_destination")
    bodies = [{k: m[k] for k in keys if k in m} for m in existing[: unchanged + conflicts]]
    for body in bodies[unchanged:]:
        body["time_granularity"] = ["daily"] if body.get("time_granularity") != ["daily"] else ["hourly"]
    for i in range(size - len(bodies)):
        bodies.append({**bodies[i % unchanged], "name": f"imported_metric_{i:05d}"})
    return json.dumps(
        {"format": "custom-metrics-console", "version": 1, "app_id": "appID1", "metrics": bodies}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--file-metrics", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-plan-"))
    sandbox_port, console_port = free_port(), free_port()
    sandbox_api = f"http://127.0.0.1:{sandbox_port}/custom-metrics"
    console = f"http://127.0.0.1:{console_port}"
    access_log = workdir / "sandbox-access.log"
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CONSOLE_MODE": "development",
        "DEBUG": "false", "LOG_LEVEL": "WARNING", "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CACHE_URL": "locmemcache://bench", "SANDBOX_BASE_URL": sandbox_api, "PYTHONPATH": str(REPO),
    }  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    (workdir / "sandbox.gunicorn.py").write_text(
        SANDBOX_GUNICORN_CONFIG.format(accesslog=str(access_log), errorlog=str(workdir / "sandbox-error.log"))
    )
    token = prepare_database(env)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    sandbox_config = str(workdir / "sandbox.gunicorn.py")
    sandbox = subprocess.Popen(
        [gunicorn, "dashboard.wsgi", "-c", sandbox_config, "-b", f"127.0.0.1:{sandbox_port}"],
        env=env,
        cwd=REPO,
    )
    console_server = subprocess.Popen(
        [gunicorn, "dashboard.wsgi", "-c", str(REPO / "gunicorn.conf.py")],
        env={**env, "WEB_CONCURRENCY": "1", "GUNICORN_BIND": f"127.0.0.1:{console_port}"}, cwd=REPO,
    )  # fmt: skip
    try:
        wait_until_up(f"{sandbox_api}/api/v1/app/{APP_ID}/custom-metrics", sandbox)
        wait_until_up(f"{console}/login/", console_server)
        create_metrics(sandbox_api, token, args.metrics)
        listed = requests.get(
            f"{sandbox_api}/api/v1/app/{APP_ID}/custom-metrics",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["results"]
        text = import_file(listed, args.file_metrics)
        browser = sign_in(console)
        page_url, import_url = f"{console}/apps/{APP_ID}/", f"{console}/apps/{APP_ID}/import/"
        browser.get(import_url, timeout=10)
        csrf = next(value for name, value in browser.cookies.items() if "csrftoken" in name)
        form = {"stage": "plan", "csrfmiddlewaretoken": csrf}
        upload = {"upload": ("metrics.json", text.encode(), "application/json")}  # as the file field sends it

        def plan() -> float:
            started = time.perf_counter()
            response = browser.post(
                import_url, data=form, files=upload, headers={"Referer": import_url}, timeout=60
            )
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or "Nothing has been sent yet" not in response.text:
                raise SystemExit(f"planning failed: {response.status_code}")
            return elapsed

        for _ in range(3):  # warm-up, and the parameters cached as on any later plan
            timed_get(browser, page_url)
            summary = plan()
        offset = access_log.stat().st_size
        page_times, plan_times = [], []
        for _ in range(args.runs):
            page_times.append(timed_get(browser, page_url)[0])
            plan_times.append(plan())
        time.sleep(0.5)
        list_calls = [
            c for c in upstream_log_since(access_log, offset) if re.search(r"/custom-metrics HTTP", c[1])
        ]
        page_median, plan_median = statistics.median(page_times), statistics.median(plan_times)
        print()
        print(f"Planning an import of {args.file_metrics} metrics into an app of {args.metrics}", end="")
        shares = f"{args.file_metrics // 2} unchanged, {args.file_metrics // 10} in conflict"
        print(f" ({shares}), median of {args.runs}:")
        show(f"console GET /apps/{APP_ID}/ (list page)", f"{page_median * 1000:.1f} ms")
        show("console POST .../import/ (plan)", f"{plan_median * 1000:.1f} ms")
        show("ratio plan / list page", f"{plan_median / page_median:.2f}", "target < 2")
        show(
            "upstream list calls per plan", f"{(len(list_calls) - args.runs) / args.runs:.2f}", "target <= 1"
        )
        del summary
    finally:
        for process in (console_server, sandbox):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
