"""collectstatic in production serves the console's own stylesheet and script minified.

The hashed files, their .gz and .br copies all hold the minified text (what browsers download), the
rules and strings of the source are all still there, and a rerun with nothing changed keeps the same
hashed names, so browsers' cached copies stay valid.
"""

import json
import re
from io import StringIO

import brotli
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

SOURCE = settings.BASE_DIR / "static"
pytestmark = pytest.mark.slow  # three collectstatic runs, each Brotli-compressing every file

PRODUCTION = {"BACKEND": "dashboard.static_storage.MinifiedCompressedManifestStaticFilesStorage"}


def collect(root) -> dict[str, str]:
    """collectstatic with production's storage into root; the manifest (source name -> hashed name)."""
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": PRODUCTION}, STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0, stdout=StringIO())
    return json.loads((root / "staticfiles.json").read_text())["paths"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    return root, collect(root)


@pytest.mark.parametrize("name", ["css/console.css", "js/console.js"])
def test_the_console_stylesheet_and_script_are_served_minified(collected, name):
    root, manifest = collected
    source = (SOURCE / name).read_bytes()
    served = (root / manifest[name]).read_bytes()
    assert len(served) < 0.8 * len(source)
    assert b"/*" not in served and b"\n  " not in served  # no comments, no indentation
    # What a Brotli-accepting browser gets is the same minified file.
    assert brotli.decompress((root / f"{manifest[name]}.br").read_bytes()) == served


def test_every_rule_of_the_stylesheet_survives_minifying(collected):
    root, manifest = collected
    selectors = re.compile(rb"[.#][a-zA-Z][\w-]*")
    source = (SOURCE / "css" / "console.css").read_bytes()
    served = (root / manifest["css/console.css"]).read_bytes()
    no_comments = re.sub(rb"/\*.*?\*/", b"", source, flags=re.S)
    assert set(selectors.findall(served)) == set(selectors.findall(no_comments))
    assert served.count(b"{") == no_comments.count(b"{")


def test_every_string_of_the_script_survives_minifying(collected):
    root, manifest = collected
    source = (SOURCE / "js" / "console.js").read_text()
    served = (root / manifest["js/console.js"]).read_text()
    code = "\n".join(line.split("// ")[0] for line in source.splitlines())
    strings = set(re.findall(r'"(?:[^"\\\n]|\\.)*"', code))
    assert len(strings) > 20
    assert sorted(s for s in strings if s not in served) == []


def test_vendored_files_are_served_as_shipped(collected):
    root, manifest = collected
    for name in ("vendor/htmx-4.0.1.min.js", "vendor/pico-2.1.1.console.min.css"):
        assert (root / manifest[name]).read_bytes() == (SOURCE / name).read_bytes()


def test_collecting_again_with_nothing_changed_keeps_the_same_hashed_names(tmp_path):
    first = collect(tmp_path)
    assert collect(tmp_path) == first
