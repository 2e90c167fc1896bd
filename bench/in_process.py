"""Django in this process, for the benchmarks that render in process: a throwaway SQLite database and a
local-memory cache, the schema made from the models (no migrations to replay), any host allowed."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def environment(prefix: str) -> Path:
    """Point Django at a fresh database in a new temporary folder (before Django is imported); that folder."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "CONSOLE_MODE": "development",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "CACHE_URL": "locmemcache://bench",
            "DJANGO_LOG_LEVEL": "WARNING",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
        }
    )
    sys.path.insert(0, str(REPO))
    return folder


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()

    class NoMigrations(dict):
        def __contains__(self, app):
            return True

        def __getitem__(self, app):
            return None

    settings.MIGRATION_MODULES = NoMigrations()
    settings.ALLOWED_HOSTS = ["*"]
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
