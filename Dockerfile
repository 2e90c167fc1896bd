# Custom Metrics Console: one image for the web process and the one-off migration job.
#   docker build -t custom-metrics-console .
#   docker run --env-file .env -p 8000:8000 custom-metrics-console
# Configuration comes from the environment only (see the configuration table in docs/operations.md).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH="/opt/venv/bin:$PATH" \
    CONSOLE_MODE=production \
    PORT=8000

WORKDIR /app

# The runtime lock only (requirements.txt; the test tools are in requirements-dev.txt), each file
# checked against its hash.
COPY requirements.txt ./
RUN python -m venv /opt/venv \
    && pip install --require-hashes -r requirements.txt

COPY . .

# Static files are collected (the console's own CSS and JS minified, then hashed and compressed) at
# build time, so the running container never writes to /app. The secrets below are throwaway values
# that exist only for this step.
RUN SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    ALLOWED_HOSTS=build.invalid \
    EMBRACE_TOKEN_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --no-input -v 0

# A non-root user; /data holds the SQLite file for single-instance installs (mount a volume there).
RUN groupadd --system --gid 10001 console \
    && useradd --system --uid 10001 --gid console --home-dir /app --no-create-home --shell /usr/sbin/nologin console \
    && mkdir /data \
    && chown console:console /data
USER 10001:10001

EXPOSE 8000

# Python, not curl (the slim image has no curl). The Host header is the first allowed host, so
# the request passes Django's host check; /healthz is exempt from the HTTPS redirect.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.*') or 'localhost'; urllib.request.urlopen(urllib.request.Request(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "dashboard.wsgi", "-c", "gunicorn.conf.py"]
