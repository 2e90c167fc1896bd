"""Production configuration: what an operator gets from the environment, and what it refuses.

Each case starts a fresh Python process, as a container start would, because settings are read
once at import time.
"""

import pytest

from tests.ops.support import production_env, run_python, settings_in

SETUP = "import django; django.setup()"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "EMBRACE_TOKEN_KEYS"])
def test_production_refuses_to_start_without_each_secret_and_names_it(missing):
    env = production_env()
    del env[missing]
    result = run_python(SETUP, env)
    assert result.returncode != 0
    assert f"{missing} must be set when CONSOLE_MODE=production" in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "EMBRACE_TOKEN_KEYS"])
def test_an_empty_value_counts_as_missing(missing):
    result = run_python(SETUP, production_env(**{missing: ""}))
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_starts_with_its_secrets_and_nothing_else():
    result = run_python(SETUP, production_env())
    assert result.returncode == 0, result.stderr


def test_production_refuses_debug_and_the_development_secrets():
    debug = run_python(SETUP, production_env(DEBUG="true"))
    assert debug.returncode != 0
    assert "DEBUG cannot be on" in debug.stderr

    dev_key = settings_in(production_env(), "DEV_SECRET_KEY")["DEV_SECRET_KEY"]
    public_key = run_python(SETUP, production_env(SECRET_KEY=dev_key))
    assert public_key.returncode != 0
    assert "development secrets cannot be used in production" in public_key.stderr


def test_production_secures_cookies_transport_and_static_files():
    values = settings_in(
        production_env(),
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "STORAGES",
        "SANDBOX_ENABLED",
        "DEMO_LOGIN_ENABLED",
    )
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    # __Host- cookies: the browser refuses them unless Secure, host-only and for the whole site.
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    static_backend = values["STORAGES"]["staticfiles"]["BACKEND"]
    # whitenoise's hashed, compressed files, the console's own CSS and JS minified first.
    assert static_backend == "dashboard.static_storage.MinifiedCompressedManifestStaticFilesStorage"
    assert values["SANDBOX_ENABLED"] is False
    assert values["DEMO_LOGIN_ENABLED"] is False


def test_postgresql_and_redis_come_from_urls_with_shared_sessions_and_bounded_waits():
    values = settings_in(
        production_env(
            DATABASE_URL="postgres://console:secret@db.internal:5432/console",
            CACHE_URL="redis://cache.internal:6379/2",
        ),
        "DATABASES",
        "CACHES",
        "SESSION_ENGINE",
    )
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5432, "console")
    assert database["OPTIONS"]["connect_timeout"] > 0
    cache = values["CACHES"]["default"]
    # Django's own Redis backend (django-redis is not installed).
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://cache.internal:6379/2"
    assert cache["OPTIONS"]["socket_connect_timeout"] > 0 and cache["OPTIONS"]["socket_timeout"] > 0
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"


def test_without_redis_sessions_stay_in_the_database_alone():
    """A per-process memory cache in front of sessions would let a signed-out session live on elsewhere."""
    values = settings_in(production_env(), "CACHES", "SESSION_ENGINE")
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_an_unreadable_metrics_network_stops_start_up_with_a_clear_message():
    result = run_python(SETUP, production_env(METRICS_ALLOWED_NETWORKS="10.0.0.0/8,not-a-network"))
    assert result.returncode != 0
    assert "METRICS_ALLOWED_NETWORKS: 'not-a-network' is not a network" in result.stderr


STRONG = "k7Qp-2vXz9LmN4rT8sW1yB6cD3fG5hJ0aE_uI7oP2qR9tY4wZ1xC8vB5nM3lK6jH"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Sh0rt-but-random-9f8e7d6c5b4a", "is too short: it has 29 characters and needs at least 50"),
        ("ab" * 40, "repeats too few characters"),
        ("django-insecure-" + STRONG, "is a public development or example value"),
    ],
    ids=["short", "few-distinct-characters", "django-insecure"],
)
def test_production_refuses_to_start_with_a_weak_secret_key_and_names_it(value, reason):
    """Not only `check --deploy`: the server itself (which runs no checks) stops, and says why."""
    result = run_python(SETUP, production_env(SECRET_KEY=value))
    assert result.returncode != 0
    assert f"SECRET_KEY {reason}" in result.stderr
    assert value not in result.stderr  # the key itself is never printed


def test_production_refuses_the_development_key_or_a_weak_key_among_the_fallbacks():
    dev_key = settings_in(production_env(), "DEV_SECRET_KEY")["DEV_SECRET_KEY"]
    development = run_python(SETUP, production_env(SECRET_KEY_FALLBACKS=f"{STRONG},{dev_key}"))
    assert development.returncode != 0
    assert "SECRET_KEY_FALLBACKS: key number 2 is a public development or example value" in development.stderr

    weak = run_python(SETUP, production_env(SECRET_KEY_FALLBACKS="old-key"))
    assert weak.returncode != 0
    assert "SECRET_KEY_FALLBACKS: key number 1 is too short" in weak.stderr


def test_production_starts_with_a_strong_key_and_a_strong_fallback():
    result = run_python(SETUP, production_env(SECRET_KEY=STRONG, SECRET_KEY_FALLBACKS=STRONG[::-1]))
    assert result.returncode == 0, result.stderr
