"""Configuration for Custom Metrics Console, read from the environment.

Two modes, chosen by ``CONSOLE_MODE``:

* ``development`` (the default when nothing is set): runs on localhost with SQLite, a local
  memory cache, the built-in sandbox as upstream and a demo sign-in. Its secrets are fixed,
  public, development-only values.
* ``production``: refuses to start without ``SECRET_KEY``, ``ALLOWED_HOSTS`` and
  ``EMBRACE_TOKEN_KEYS``; secure cookies, HSTS and a strict Content-Security-Policy.

Every variable is listed, with its default, in the configuration table in docs/operations.md.
"""

import ipaddress
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from dashboard import secret_strength

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

CONSOLE_MODE = env.str("CONSOLE_MODE", default="development")
if CONSOLE_MODE not in {"development", "production"}:
    raise ImproperlyConfigured("CONSOLE_MODE must be 'development' or 'production'.")
PRODUCTION = CONSOLE_MODE == "production"

# Public, development-only secrets. Production refuses them (see below and metrics_ui/checks.py).
DEV_SECRET_KEY = "development-only-secret-key-do-not-use-in-production-0123456789abcdef"
DEV_TOKEN_KEY = "ZGV2ZWxvcG1lbnQtb25seS10b2tlbi1rZXktMDAwMDA="


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when CONSOLE_MODE=production. "
            "See the configuration table in docs/operations.md."
        )
    return value


if PRODUCTION:
    SECRET_KEY = _required("SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]
    EMBRACE_TOKEN_KEYS = [k.strip() for k in _required("EMBRACE_TOKEN_KEYS").split(",") if k.strip()]
    if DEV_TOKEN_KEY in EMBRACE_TOKEN_KEYS:
        raise ImproperlyConfigured("The development secrets cannot be used in production.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
    EMBRACE_TOKEN_KEYS = env.list("EMBRACE_TOKEN_KEYS", default=[DEV_TOKEN_KEY])

SECRET_KEY_FALLBACKS = [k.strip() for k in env.list("SECRET_KEY_FALLBACKS", default=[]) if k.strip()]
if PRODUCTION:
    # At start-up, not only in `check --deploy`: a WSGI server runs no checks, and a guessable key
    # lets anyone forge a session cookie.
    _weak_keys = secret_strength.problems(SECRET_KEY, SECRET_KEY_FALLBACKS, DEV_SECRET_KEY)
    if _weak_keys:
        raise ImproperlyConfigured(" ".join(_weak_keys))
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG cannot be on when CONSOLE_MODE=production.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: its runserver (TCP_NODELAY, metrics_ui/management/commands/runserver.py)
    # extends staticfiles' and must be the one manage.py finds.
    "metrics_ui",
    "django.contrib.staticfiles",
    "django.forms",  # the form renderer (dashboard/form_renderer.py) finds its widget templates here
    "django_htmx",
    "mozilla_django_oidc",
    "sandbox",
]

MIDDLEWARE = [
    "metrics_ui.observability.RequestIdMiddleware",
    # Outermost after the request id, so its one line per request sees every response, static included.
    "metrics_ui.observability.AccessLogMiddleware",
    "metrics_ui.page_deadline.PageDeadlineMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Sessions from before the sign-in modules moved keep working (read before request.user is).
    "metrics_ui.accounts.sessions.MovedBackendMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Outside the session-ending middleware below, so it sees who the person is after them.
    "metrics_ui.ops.private_pages.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "metrics_ui.context_processors.console",
            ],
        },
    },
]

# Forms render through the templates above, each field with templates/forms/field.html.
FORM_RENDERER = "dashboard.form_renderer.ConsoleFormRenderer"

WSGI_APPLICATION = "dashboard.wsgi.application"

# An empty DATABASE_URL (as left in a copied .env file) means the default, like an unset one.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are kept like PostgreSQL's: opening one (and switching it to WAL) costs about a
    # millisecond, a sizeable share of a page. WAL lets readers and one writer overlap.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file (one per process), not Django's default in-memory database: with that one
    # the live_server's request threads share a single connection and fail concurrent writes with
    # "database table is locked", which production (a file, WAL, IMMEDIATE) never does. The file
    # lives in RAM (/dev/shm) where there is one, so fsyncs don't slow the suite down.
    import os
    import tempfile

    _shm = Path("/dev/shm")  # noqa: S108 - throwaway test data, one file per process id
    _test_dir = _shm if _shm.is_dir() else Path(tempfile.gettempdir())
    DATABASES["default"].setdefault("TEST", {"NAME": str(_test_dir / f"console-test-{os.getpid()}.sqlite3")})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails /readyz within seconds instead of hanging a worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# An empty CACHE_URL (as left in a copied .env file) means the default, like an unset one.
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://console")}
CACHE_IS_REDIS = "redis" in CACHES["default"]["BACKEND"].lower()
if CACHE_IS_REDIS:
    # django-environ may pick django-redis (not installed) for redis:// URLs: use Django's own backend.
    CACHES["default"]["BACKEND"] = "django.core.cache.backends.redis.RedisCache"
    # A Redis that does not answer fails /readyz within seconds instead of hanging a worker.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=2.0),
            "socket_timeout": env.float("CACHE_TIMEOUT", default=2.0),
        }
    )

AUTH_USER_MODEL = "metrics_ui.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions live in the database (and so are shared by every instance); the idle limit slides
# with each request, the absolute limit is enforced by metrics_ui's session middleware.
# With a shared Redis, reads come from the cache and writes go to both (the database stays the
# truth; Django logs and skips cache failures). Never with the local-memory cache: each process
# would keep its own, stale copy after a sign-out elsewhere.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if CACHE_IS_REDIS else "django.contrib.sessions.backends.db"
)
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=2 * 3600)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=10 * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# Not on every request: metrics_ui.accounts.sessions slides the idle expiry with at most one write a minute.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Not "session": the OIDC provider used in tests runs on localhost and uses that name.
SESSION_COOKIE_NAME = "__Host-console-session" if PRODUCTION else "console_session"
CSRF_COOKIE_NAME = "__Host-csrftoken" if PRODUCTION else "console_csrftoken"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            # whitenoise's hashed and compressed files, the console's own CSS and JS minified first.
            "dashboard.static_storage.MinifiedCompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Bodies larger than this are refused before any view runs (the create form is a few KB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=2000)

# --- Security headers -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- The upstream (Embrace Custom Metrics API) --------------------------------------------------
# The built-in sandbox is served by this same server under /custom-metrics/.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=not PRODUCTION)
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default="http://127.0.0.1:8000/custom-metrics")
# The sandbox's Metrics API (PromQL); empty means SANDBOX_BASE_URL with /custom-metrics replaced by /metrics.
SANDBOX_METRICS_API_URL = env.str("SANDBOX_METRICS_API_URL", default="")
if PRODUCTION and SANDBOX_ENABLED:
    # The console calls its own sandbox over loopback HTTP; a redirect to HTTPS would break that.
    SECURE_REDIRECT_EXEMPT.append(r"^custom-metrics/")
    SECURE_REDIRECT_EXEMPT.append(r"^metrics/api/")  # the sandbox's Metrics API, likewise
UPSTREAM_CONNECT_TIMEOUT = env.float("UPSTREAM_CONNECT_TIMEOUT", default=3.05)
UPSTREAM_READ_TIMEOUT = env.float("UPSTREAM_READ_TIMEOUT", default=10.0)
UPSTREAM_READ_RETRIES = env.int("UPSTREAM_READ_RETRIES", default=2)
UPSTREAM_BACKOFF_FACTOR = env.float("UPSTREAM_BACKOFF_FACTOR", default=0.3)
# All of one page view's calls and retries share this many seconds (0 turns it off); see page_deadline.py.
UPSTREAM_PAGE_DEADLINE = env.float("UPSTREAM_PAGE_DEADLINE", default=10.0)
if UPSTREAM_PAGE_DEADLINE < 0:
    raise ImproperlyConfigured("UPSTREAM_PAGE_DEADLINE must be a number of seconds (0 turns it off).")
UPSTREAM_MAX_RESPONSE_BYTES = env.int("UPSTREAM_MAX_RESPONSE_BYTES", default=4 * 1024 * 1024)
UPSTREAM_BREAKER_FAILURES = env.int("UPSTREAM_BREAKER_FAILURES", default=5)
UPSTREAM_BREAKER_RESET_SECONDS = env.int("UPSTREAM_BREAKER_RESET_SECONDS", default=30)

# === Per-user write rate limit (metrics_ui/ops/ratelimit.py) ===
# Creates, deletes and token changes per user, in django-ratelimit's notation ("30/m" = 30 a minute).
# Counted in the cache, so shared by every instance when CACHE_URL is Redis. Empty turns the limit off.
WRITE_RATE_LIMIT = env.str("WRITE_RATE_LIMIT", default="30/m")
if WRITE_RATE_LIMIT and not re.fullmatch(r"[0-9]+/[0-9]*[smhd]", WRITE_RATE_LIMIT):
    raise ImproperlyConfigured("WRITE_RATE_LIMIT must look like 30/m (a number, then /s, /m, /h or /d).")
# Attempts at the development password sign-in, per client address and per username.
SIGN_IN_RATE_LIMIT = env.str("SIGN_IN_RATE_LIMIT", default="10/m")
if SIGN_IN_RATE_LIMIT and not re.fullmatch(r"[0-9]+/[0-9]*[smhd]", SIGN_IN_RATE_LIMIT):
    raise ImproperlyConfigured("SIGN_IN_RATE_LIMIT must look like 10/m (a number, then /s, /m, /h or /d).")

# --- Demo sign-in (development only) ------------------------------------------------------------
DEMO_LOGIN_ENABLED = env.bool("DEMO_LOGIN_ENABLED", default=not PRODUCTION)
if PRODUCTION and DEMO_LOGIN_ENABLED:
    raise ImproperlyConfigured("The demo sign-in is for development only; unset DEMO_LOGIN_ENABLED.")
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"

SUPPORT_CONTACT = env.str("SUPPORT_CONTACT", default="your Custom Metrics Console administrator")

# --- Prometheus metrics at /metrics -------------------------------------------------------------
# Either (or both) opens the endpoint: a bearer token the scraper sends, or the scraper's networks.
# With neither, production answers 404 and development answers loopback clients only.
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network such as 10.0.0.0/8 or 127.0.0.1."
        ) from None

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# JSON lines for log collectors; one readable line per request for a person watching bin/run.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "metrics_ui.observability.RequestIdFilter"},
        "redact": {"()": "metrics_ui.observability.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"()": "metrics_ui.observability.ReadableFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Without its own handler (Django gives it one): its records reach the root handler once, not twice.
        "django": {"level": "INFO"},
        "django.server": {"level": "WARNING"},
        # SQL parameters hold session keys: never log them, whatever LOG_LEVEL says.
        "django.db.backends": {"level": "INFO"},
    },
}

# === Sign-in: OIDC, trusted proxy, sessions, break-glass (metrics_ui/accounts/) ===
# Every name below is read from the environment; docs/sso.md explains each.
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# OpenID Connect, in the app (mozilla-django-oidc). On when a client id is set, unless OIDC_ENABLED says.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_ENABLED = env.bool("OIDC_ENABLED", default=bool(OIDC_RP_CLIENT_ID))
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
# Either a discovery URL (or the issuer, + /.well-known/openid-configuration), fetched at the first
# sign-in and cached, or the endpoints one by one. Explicit endpoints win over discovery.
OIDC_DISCOVERY_URL = env.str("OIDC_DISCOVERY_URL", default="")
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_EMAIL_CLAIM = env.str("OIDC_EMAIL_CLAIM", default="email")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
# Binding an existing account that has no identity-provider subject yet, by its e-mail address:
# "verified" (once, only when the provider says email_verified=true) or "never" (an admin links
# it with `manage.py oidc_link`).
OIDC_EMAIL_LINKING = env.str("OIDC_EMAIL_LINKING", default="verified")
if OIDC_EMAIL_LINKING not in {"verified", "never"}:
    raise ImproperlyConfigured('OIDC_EMAIL_LINKING must be "verified" or "never".')
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env.int("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", default=15 * 60)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=5.0)  # mozilla-django-oidc's own default is none
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TOKEN_USE_BASIC_AUTH = env.bool("OIDC_TOKEN_USE_BASIC_AUTH", default=False)  # else client_secret_post
OIDC_STORE_ID_TOKEN = True  # the id_token_hint for RP-initiated logout
OIDC_AUTHENTICATE_CLASS = "metrics_ui.accounts.oidc.AuthenticationRequestView"
OIDC_CALLBACK_CLASS = "metrics_ui.accounts.oidc.CallbackView"
OIDC_OP_LOGOUT_URL_METHOD = "metrics_ui.accounts.oidc.provider_logout_url"
OIDC_EXEMPT_URLS = ["login", "logout", "no_access"]
if OIDC_ENABLED:
    if not OIDC_RP_CLIENT_ID:
        raise ImproperlyConfigured("OIDC_ENABLED needs OIDC_RP_CLIENT_ID (and usually its secret).")
    if not (OIDC_DISCOVERY_URL or OIDC_ISSUER) and not all(
        (OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT)
    ):
        raise ImproperlyConfigured(
            "OIDC_ENABLED needs OIDC_DISCOVERY_URL (or OIDC_ISSUER), or all four OIDC_OP_*_ENDPOINT settings."
        )

# Who may enter, and with which role (for OIDC and the trusted proxy alike). No role group: refused.
ALLOWED_EMAIL_DOMAINS = env.list("ALLOWED_EMAIL_DOMAINS", default=[])
REQUIRED_GROUPS = env.list("REQUIRED_GROUPS", default=[])
ROLE_GROUPS_VIEWER = env.list("ROLE_GROUPS_VIEWER", default=[])
ROLE_GROUPS_EDITOR = env.list("ROLE_GROUPS_EDITOR", default=[])
ROLE_GROUPS_ADMIN = env.list("ROLE_GROUPS_ADMIN", default=[])

# Trusted reverse proxy (oauth2-proxy, Cloudflare Access, Google IAP, Pomerium).
PROXY_AUTH_ENABLED = env.bool("PROXY_AUTH_ENABLED", default=False)
PROXY_AUTH_USER_HEADER = env.str("PROXY_AUTH_USER_HEADER", default="X-Forwarded-Email")
PROXY_AUTH_GROUPS_HEADER = env.str("PROXY_AUTH_GROUPS_HEADER", default="X-Forwarded-Groups")
PROXY_AUTH_TRUSTED_PROXIES = env.list("PROXY_AUTH_TRUSTED_PROXIES", default=[])
for _proxy in PROXY_AUTH_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"PROXY_AUTH_TRUSTED_PROXIES: {_proxy!r} is not an address or a network such as 10.0.0.0/24."
        ) from None
if PROXY_AUTH_ENABLED and not PROXY_AUTH_TRUSTED_PROXIES:
    raise ImproperlyConfigured("PROXY_AUTH_ENABLED needs PROXY_AUTH_TRUSTED_PROXIES (the proxy's addresses).")

# Break-glass: a local admin signed in through a one-time link printed by `manage.py breakglass_login`.
BREAKGLASS_ENABLED = env.bool("BREAKGLASS_ENABLED", default=False)
BREAKGLASS_LINK_SECONDS = env.int("BREAKGLASS_LINK_SECONDS", default=15 * 60)

# Probes and the sandbox API never take part in sign-in logic ("/" at the end: a prefix).
SIGN_IN_EXEMPT_PATHS = ["/healthz", "/readyz", "/metrics", "/custom-metrics/", "/metrics/api/"]

AUTHENTICATION_BACKENDS = [
    *(["metrics_ui.accounts.oidc.OIDCBackend"] if OIDC_ENABLED else []),
    *(["metrics_ui.accounts.proxy.ProxyHeaderBackend"] if PROXY_AUTH_ENABLED else []),
    *AUTHENTICATION_BACKENDS,
]
if PRODUCTION and not BREAKGLASS_ENABLED:
    # No password sign-in in production: the demo form is development-only, break-glass is opt-in.
    AUTHENTICATION_BACKENDS.remove(_MODEL_BACKEND)

# Each does nothing unless its feature is on; keeping them installed keeps one request pipeline.
MIDDLEWARE += [
    "metrics_ui.accounts.sessions.SessionLimitsMiddleware",
    "metrics_ui.accounts.proxy.ProxyHeaderMiddleware",
    "metrics_ui.accounts.oidc.SessionRefresh",
]
# === end of the sign-in block ======================================================================
