"""The sandbox's data: organizations, their apps and tokens, and custom metrics.

An organization owns apps and tokens; a token may manage every app of its organization and no
other. Tokens are stored as SHA-256 digests (the sandbox never needs to send them anywhere), with
a short prefix and the last four characters so an operator can tell them apart.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from json.encoder import encode_basestring_ascii

from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from metrics_ui import catalog

APP_ID_MAX_LENGTH = 64
# The app ids the sandbox accepts (the console's upstream.validate_app_id uses the same rule).
APP_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{APP_ID_MAX_LENGTH}}}")
CUSTOM_METRIC_ID_LENGTH = 7
_ID_ALPHABET = string.ascii_letters + string.digits


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def new_custom_metric_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(CUSTOM_METRIC_ID_LENGTH))


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class App(models.Model):
    app_id = models.CharField(max_length=APP_ID_MAX_LENGTH, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="apps")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("app_id",)

    def __str__(self) -> str:
        return self.app_id


class TokenQuerySet(models.QuerySet):
    def active(self) -> TokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class TokenKind(models.TextChoices):
    """Embrace's two kinds of token: neither opens the other's API."""

    CUSTOM_METRICS = "custom_metrics", "Custom Metrics API"
    METRICS_API = "metrics_api", "Metrics API"


class Token(models.Model):
    """A sandbox API token. Only its digest is stored; the token itself is shown once, at minting."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tokens")
    label = models.CharField(max_length=200, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=4)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=TokenKind.choices, default=TokenKind.CUSTOM_METRICS)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.prefix}…{self.last4}"

    @classmethod
    def mint(
        cls,
        organization: Organization,
        label: str = "",
        raw: str | None = None,
        kind: str = TokenKind.CUSTOM_METRICS,
    ) -> tuple[Token, str]:
        """Create a token; returns it with its raw value, which is not stored anywhere."""
        raw = raw or secrets.token_hex(16)
        token = cls.objects.create(
            organization=organization,
            label=label,
            digest=token_digest(raw),
            prefix=raw[:4],
            last4=raw[-4:],
            kind=kind,
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str, kind: str = TokenKind.CUSTOM_METRICS) -> Token | None:
        """The active token of this kind with this value, or None."""
        if not raw:
            return None
        tokens = cls.objects.active().select_related("organization")
        return tokens.filter(digest=token_digest(raw), kind=kind).first()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


_JSON_COLUMNS = ("filters", "group_by", "time_granularity", "data_destination")


class CustomMetricQuerySet(models.QuerySet):
    def list_json(self, app: App) -> str:
        """The app's metrics as the list endpoint's JSON text, ``{"results": [...]}``, in creation order.

        The same document as ``{"results": [m.as_json() for m in ...]}``, built from the stored JSON
        text instead: at a thousand metrics, building the model objects and decoding then re-encoding
        four JSON columns each was most of the request's time.
        """
        rows = (
            self.filter(app=app)
            .annotate(**{f"{column}_text": Cast(column, models.TextField()) for column in _JSON_COLUMNS})
            .values_list(
                "custom_metric_id", "name", "metric", *(f"{column}_text" for column in _JSON_COLUMNS)
            )
        )
        app_id = encode_basestring_ascii(app.app_id)
        items = [
            f'{{"custom_metric_id": {encode_basestring_ascii(custom_metric_id)}, "app_id": {app_id}, '
            f'"name": {encode_basestring_ascii(name)}, "metric": {encode_basestring_ascii(metric)}, '
            f'"filters": {filters}, "group_by": {group_by}, "time_granularity": {time_granularity}, '
            f'"data_destination": {data_destination}}}'
            for custom_metric_id, name, metric, filters, group_by, time_granularity, data_destination in rows
        ]
        return '{"results": [' + ", ".join(items) + "]}"


class CustomMetric(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="custom_metrics")
    custom_metric_id = models.CharField(
        max_length=CUSTOM_METRIC_ID_LENGTH, unique=True, default=new_custom_metric_id
    )
    name = models.CharField(max_length=catalog.NAME_MAX_LENGTH)
    metric = models.CharField(max_length=100)
    filters = models.JSONField(default=dict)
    group_by = models.JSONField(default=list)
    time_granularity = models.JSONField(default=list)
    data_destination = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CustomMetricQuerySet.as_manager()

    class Meta:
        # The id is assigned in insertion order, so it is the creation order the list endpoint uses.
        ordering = ("id",)
        constraints = [
            # Names are unique per app (case-sensitive); this constraint, not a prior lookup, is what
            # turns a duplicate create into 409, so two concurrent creates cannot both succeed.
            models.UniqueConstraint(fields=["app", "name"], name="sandbox_custom_metric_unique_name_per_app"),
        ]

    def __str__(self) -> str:
        return f"{self.app.app_id}/{self.name}"

    def as_json(self) -> dict:
        # CustomMetricQuerySet.list_json writes the same document for the list endpoint; keep them alike.
        return {
            "custom_metric_id": self.custom_metric_id,
            "app_id": self.app.app_id,
            "name": self.name,
            "metric": self.metric,
            "filters": self.filters,
            "group_by": self.group_by,
            "time_granularity": self.time_granularity,
            "data_destination": self.data_destination,
        }
