"""The audit trail's rows. Append-only: the console can add a record, never change or remove one."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit record."""


class AuditQuerySet(models.QuerySet):
    # Bulk paths skip ``save()``/``delete()`` on the instances, so they are closed here as well.
    def update(self, **kwargs):
        raise AppendOnlyError("Audit records cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit records cannot be deleted.")


class AuditRecord(models.Model):
    """One thing a person (or an operator's command) did or tried to do, and how it ended."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Users are deactivated, never deleted; PROTECT keeps every record pointing at its person.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Snapshots: the record still says who it was if the user's name or e-mail changes later,
    # and refused sign-ins (no user row) keep the identity that was tried.
    username = models.CharField(max_length=254, blank=True)
    email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    app_id = models.CharField(max_length=64, blank=True, db_index=True)
    metric = models.CharField(max_length=200, blank=True)
    body = models.JSONField(null=True, blank=True)
    upstream_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="audit_user_recent")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit records cannot be deleted.")
