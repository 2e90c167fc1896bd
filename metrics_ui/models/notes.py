"""The console's own notes on a metric: kept per (app, metric name), beside what Embrace stores.

Embrace keeps only a metric's definition. The console adds what people need to look after it: a
description, an owner, who created it through the console and when, and when the console last saw it
in the app's list (to tell "deleted outside the console" from "deleted here"). A note outlives its
metric: when the metric disappears upstream the note is kept and marked, never removed.
"""

from django.conf import settings
from django.db import models


class MetricNote(models.Model):
    app_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    # Free text (a person or a team), or a console user; ``owner_label`` is what is shown either way.
    owner = models.CharField(max_length=200, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when the console created (or adopted) the metric: it is then the console's to watch for drift.
    managed = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    adopted = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # When the console deleted it (then its absence upstream is expected, not drift).
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app_id", "name"]
        constraints = [models.UniqueConstraint(fields=["app_id", "name"], name="metric_note_unique_per_app")]

    def __str__(self) -> str:
        return f"{self.app_id}/{self.name}"

    @property
    def owner_label(self) -> str:
        if self.owner_user_id is not None:
            return self.owner_user.get_username()
        return self.owner
