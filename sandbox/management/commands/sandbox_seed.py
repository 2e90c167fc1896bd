"""``manage.py sandbox_seed [--json]``: the sandbox's demo data, created or restored idempotently."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from sandbox import validation
from sandbox.models import App, CustomMetric, Organization, Token, TokenKind, token_digest

# The token from Embrace's own documentation examples, so the documented curl commands work as
# pasted against the sandbox. Public on purpose: it only opens the sandbox's demo organization.
DEMO_TOKEN = "1b6be81cd01c4b08833295efadccafdc"
# The demo organization's Metrics API token (a separate kind, as in Embrace). Public on purpose too.
DEMO_METRICS_API_TOKEN = "4d657472696373415049746f6b656e31"
# The example metrics are back-dated so the Metrics API has a month of history to chart.
HISTORY = timedelta(days=30)
DEMO_ORGANIZATION = "Demo organization"
DEMO_APPS = ("appID1", "appID2")
OTHER_ORGANIZATION = "Other organization"
OTHER_APP = "otherOrgApp"


def _and(*children: dict) -> dict:
    return {"op": "and", "children": list(children)}


def _or(*children: dict) -> dict:
    return {"op": "or", "children": list(children)}


def _is(key: str, op: str, val: object) -> dict:
    return {"field_op": op, "key": key, "val": val}


# Realistic examples in appID1; the first is the one in the documentation's list example, so the
# documented DELETE of sessions_total_v1 works too.
EXAMPLE_METRICS: tuple[dict, ...] = (
    {
        "name": "sessions_total_v1",
        "metric": "sessions_total",
        "filters": {},
        "group_by": ["app_version"],
        "time_granularity": ["five_minute", "hourly"],
        "data_destination": ["metrics_api", "datadog", "grafana_cloud"],
    },
    {
        "name": "paid_user_adoption",
        "metric": "sessions_total",
        "filters": _and(
            _is("session_property", "eq", {"property_key": "plan", "property_values": ["pro", "enterprise"]})
        ),
        "group_by": ["session_property.plan", "country"],
        "time_granularity": ["daily"],
        "data_destination": ["metrics_api"],
    },
    {
        "name": "crash_count_by_version",
        "metric": "crashes_total",
        "filters": _and(_is("msg", "like", "OutOfMemory"), _is("os_major_version", "gte", 15)),
        "group_by": ["app_version", "os_major_version"],
        "time_granularity": ["hourly", "daily"],
        "data_destination": ["metrics_api", "newrelic"],
    },
    {
        "name": "checkout_server_errors",
        "metric": "network_requests_total",
        "filters": _and(
            _is("domain", "eq", "api.example-shop.com"),
            _is("status_code", "eq", {"start": 500, "end": 599}),
            _or(_is("path", "like", "/checkout"), _is("path", "like", "/cart")),
        ),
        "group_by": ["status_code", "top_n_path"],
        "time_granularity": ["five_minute", "hourly"],
        "data_destination": ["metrics_api", "datadog"],
    },
    {
        "name": "api_latency_hourly",
        "metric": "network_requests_successful_duration_total",
        "filters": _and(_is("domain", "eq", "api.example-shop.com"), _is("method", "in", ["GET", "POST"])),
        "group_by": ["top_n_domain"],
        "time_granularity": ["hourly", "daily"],
        "data_destination": ["metrics_api", "grafana_cloud"],
    },
    {
        "name": "slow_startup_moments",
        "metric": "moments_total",
        "filters": _and(_is("name", "eq", "startup"), _is("duration_bucket", "gte", 2000)),
        "group_by": ["duration_bucket"],
        "time_granularity": ["hourly"],
        "data_destination": ["metrics_api"],
    },
    {
        "name": "anrs_north_america",
        "metric": "anrs_total",
        "filters": _or(
            _and(_is("country", "in", ["US", "CA"]), _is("os_major_version", "gte", 12)),
            _is("model", "like", "Pixel"),
        ),
        "group_by": ["country", "os_version"],
        "time_granularity": ["five_minute"],
        "data_destination": ["metrics_api"],
    },
)


def seed() -> dict:
    """Create whatever of the demo data is missing; returns what ``--json`` prints."""
    with transaction.atomic():
        demo, _ = Organization.objects.get_or_create(name=DEMO_ORGANIZATION)
        other, _ = Organization.objects.get_or_create(name=OTHER_ORGANIZATION)
        apps = {}
        for app_id, organization in [*((a, demo) for a in DEMO_APPS), (OTHER_APP, other)]:
            app, _ = App.objects.update_or_create(app_id=app_id, defaults={"organization": organization})
            apps[app_id] = app
        _restore_token(demo, DEMO_TOKEN, TokenKind.CUSTOM_METRICS, "demo (sandbox_seed)")
        _restore_token(demo, DEMO_METRICS_API_TOKEN, TokenKind.METRICS_API, "demo Metrics API (sandbox_seed)")
        created_at = timezone.now() - HISTORY
        for example in EXAMPLE_METRICS:
            definition = validation.validate_create(example)
            CustomMetric.objects.get_or_create(
                app=apps["appID1"], name=definition["name"], defaults={**definition, "created_at": created_at}
            )
    return {
        "token": DEMO_TOKEN,
        "apps": list(DEMO_APPS),
        "other_app": OTHER_APP,
        "metrics_api_token": DEMO_METRICS_API_TOKEN,
    }


def _restore_token(organization: Organization, raw: str, kind: str, label: str) -> None:
    token = Token.objects.filter(digest=token_digest(raw)).first()
    if token is None:
        Token.mint(organization, label=label, raw=raw, kind=kind)
    elif token.revoked_at is not None or token.organization_id != organization.pk or token.kind != kind:
        # Seeding restores the documented demo state, including a revoked demo token.
        token.revoked_at = None
        token.organization = organization
        token.kind = kind
        token.save(update_fields=["revoked_at", "organization", "kind"])


class Command(BaseCommand):
    help = "Create (or restore) the sandbox's demo organization, apps, example metrics and token."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="End with one JSON line: token, apps, other_app, metrics_api_token.",
        )

    def handle(self, *args, **options) -> None:
        result = seed()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        count = CustomMetric.objects.filter(app__app_id="appID1").count()
        sandbox_url = settings.SANDBOX_BASE_URL.rstrip("/")
        metrics_url = sandbox_url.removesuffix("/custom-metrics") + "/metrics"
        self.stdout.write(
            f"""Sandbox ready at {sandbox_url}/

  Token:      {DEMO_TOKEN}  (demo organization; manages {", ".join(DEMO_APPS)})
  Metrics API token: {DEMO_METRICS_API_TOKEN}  (reads the demo apps' series at /metrics)
  Apps:       {", ".join(DEMO_APPS)}  (appID1 has {count} custom metrics)
  Other app:  {OTHER_APP}  (belongs to another organization: the demo token gets 403)

Try it:

  curl -H 'Authorization: Bearer {DEMO_TOKEN}' \\
    {sandbox_url}/api/v1/app/appID1/custom-metrics

  curl -H 'Authorization: Bearer {DEMO_METRICS_API_TOKEN}' \\
    {metrics_url}/api/v1/label/__name__/values

Mint, list or revoke tokens and add apps: python manage.py sandbox_token --help
"""
        )
