"""The image's start-up path, for real: collectstatic, then gunicorn in production mode.

This is what the Dockerfile does, minus Docker: static files collected with hashed names and
compressed, then ``gunicorn dashboard.wsgi -c gunicorn.conf.py`` with ``CONSOLE_MODE=production``
behind a TLS-terminating proxy (played by an ``X-Forwarded-Proto: https`` header). Production-only
failures, such as a template naming a static file that is not in the manifest, show up here.
"""

import re
import subprocess
import sys

import pytest
import requests

from tests.ops.support import BASE_DIR, Gunicorn, prepare_database, production_env

pytestmark = pytest.mark.slow

HOST = "console.example.com"


def collected_and_started(tmp_path, request) -> Gunicorn:
    """What the image does at start: collectstatic, the schema, then gunicorn in production mode."""
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'console.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        TRUST_X_FORWARDED_PROTO="true",
        # Production's sign-in here: a trusted sign-in proxy (oauth2-proxy and the like) on loopback.
        PROXY_AUTH_ENABLED="true",
        PROXY_AUTH_TRUSTED_PROXIES="127.0.0.1/32",
        ROLE_GROUPS_VIEWER="console-viewers",
    )
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stderr
    prepared = prepare_database(env, request)
    assert prepared.returncode == 0, prepared.stderr
    return Gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log", host=HOST)


def test_a_production_instance_serves_pages_static_files_and_probes(tmp_path, request):
    server = collected_and_started(tmp_path, request)
    try:
        proxied = {"Host": HOST, "X-Forwarded-Proto": "https"}
        signed_in = {
            **proxied,
            "X-Forwarded-Email": "viewer@example.com",
            "X-Forwarded-Groups": "console-viewers",
        }

        # Plain HTTP to a page is sent to HTTPS; the probes answer as they are.
        plain = requests.get(f"{server.url}/", headers={"Host": HOST}, allow_redirects=False, timeout=30)
        assert plain.status_code == 301 and plain.headers["Location"] == f"https://{HOST}/"
        assert requests.get(f"{server.url}/healthz", headers={"Host": HOST}, timeout=30).status_code == 200
        assert (
            requests.get(f"{server.url}/readyz", headers={"Host": HOST}, timeout=30).json()["status"] == "ok"
        )
        # An unknown host is refused before any view runs.
        assert requests.get(f"{server.url}/", headers={"Host": "evil.example"}, timeout=30).status_code == 400

        home = requests.get(f"{server.url}/", headers=signed_in, allow_redirects=False, timeout=30)
        tokens = requests.get(f"{server.url}/tokens/", headers=signed_in, timeout=30)
        missing = requests.get(f"{server.url}/no/such/page/", headers=signed_in, timeout=30)
        sign_in = requests.get(f"{server.url}/login/", headers=proxied, timeout=30)
        assert home.status_code == 200 and "Sign out" in home.text
        assert tokens.status_code == 200
        assert missing.status_code == 404
        assert sign_in.status_code == 200
        for response in (home, tokens, missing, sign_in):
            assert "'nonce-" in response.headers["Content-Security-Policy"]
            assert "max-age=31536000" in response.headers["Strict-Transport-Security"]

        # Static files: hashed names from the manifest, served compressed and cached for good.
        stylesheet = re.search(r'href="(/static/css/console\.[0-9a-f]{12}\.css)"', home.text)
        assert stylesheet, "the page does not link the hashed stylesheet"
        css = requests.get(
            f"{server.url}{stylesheet.group(1)}", headers={**proxied, "Accept-Encoding": "gzip"}, timeout=30
        )
        assert css.status_code == 200 and css.headers["Content-Encoding"] == "gzip"
        assert "immutable" in css.headers["Cache-Control"]
        session_key = home.cookies["__Host-console-session"]
    finally:
        server.stop()
    assert session_key not in server.log()


def test_static_files_are_served_brotli_compressed_to_browsers_that_accept_it(tmp_path, request):
    """After collectstatic, the htmx script and every stylesheet come Brotli-compressed to a browser
    that accepts ``br`` (smaller than gzip), and still gzip-compressed to one that accepts only gzip."""
    server = collected_and_started(tmp_path, request)
    try:
        proxied = {"Host": HOST, "X-Forwarded-Proto": "https"}
        sign_in = requests.get(f"{server.url}/login/", headers=proxied, timeout=30)
        assert sign_in.status_code == 200
        stylesheets = re.findall(r'<link rel="stylesheet" href="(/static/[^"]+\.css)"', sign_in.text)
        scripts = re.findall(r'<script src="(/static/vendor/htmx[^"]+\.js)"', sign_in.text)
        assert len(stylesheets) >= 2 and len(scripts) == 1, sign_in.text[:2000]
        for path in (*stylesheets, *scripts):
            brotli = requests.get(
                f"{server.url}{path}", headers={**proxied, "Accept-Encoding": "br"}, timeout=30
            )
            gzip = requests.get(
                f"{server.url}{path}", headers={**proxied, "Accept-Encoding": "gzip"}, timeout=30
            )
            assert brotli.status_code == 200 and brotli.headers["Content-Encoding"] == "br", path
            assert gzip.status_code == 200 and gzip.headers["Content-Encoding"] == "gzip", path
            assert "Accept-Encoding" in brotli.headers["Vary"]
            # requests decodes both, so the same file must come out of each.
            assert brotli.content == gzip.content and brotli.content.strip()
    finally:
        server.stop()
