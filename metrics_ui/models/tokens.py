"""Each user's own Embrace API tokens, encrypted at rest, and the apps each token manages.

Only the Fernet ciphertext and a non-secret fingerprint (the last four characters, the saved-at
time) are stored, so pages that list tokens never need to decrypt. Decryption happens in one place,
``metrics_ui.tokens.access``, immediately before a request is sent.
"""

from django.conf import settings
from django.db import models
from django.views.decorators.debug import sensitive_variables

from metrics_ui.tokens import encryption
from metrics_ui.upstream import REGIONS

MASK = "••••"


def region_choices() -> list[tuple[str, str]]:
    # The upstream client holds the one list of regions.
    return list(REGIONS.items())


class ApiToken(models.Model):
    """One Embrace API token of one user: a Custom Metrics API token (manages apps) or a Metrics API
    token (reads the series of every app in its region, for the charts; at most one per region)."""

    class Kind(models.TextChoices):
        CUSTOM_METRICS = "custom_metrics", "Custom Metrics API token"
        METRICS_API = "metrics_api", "Metrics API token"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CUSTOM_METRICS)
    region = models.CharField(max_length=20, choices=region_choices)
    ciphertext = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # "Saved at" on the token page: changes when the user replaces the token, not on key rotation
    # (the rotation command writes with ``update()``, which leaves it alone).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "label"], name="api_token_label_unique_per_user"),
            models.UniqueConstraint(
                fields=["user", "region"],
                condition=models.Q(kind="metrics_api"),
                name="metrics_api_token_unique_per_user_region",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.label} {self.masked}"

    def __repr__(self) -> str:
        return f"<ApiToken id={self.pk} label={self.label!r} {self.masked}>"

    @property
    def masked(self) -> str:
        return f"{MASK}{self.last4}"

    @property
    def region_label(self) -> str:
        return dict(region_choices()).get(self.region, self.region)

    @property
    def is_metrics_api(self) -> bool:
        return self.kind == self.Kind.METRICS_API

    @property
    def app_ids(self) -> list[str]:
        return [app.app_id for app in self.apps.all()]

    @sensitive_variables("plaintext")
    def set_token(self, plaintext: str) -> None:
        """Encrypt ``plaintext`` into this row (not saved yet) and keep its last four characters."""
        self.ciphertext = encryption.encrypt(plaintext)
        self.last4 = plaintext[-4:]

    def set_apps(self, app_ids: list[str]) -> None:
        """Make this (saved) token manage exactly ``app_ids``. Run it inside a transaction."""
        self.apps.exclude(app_id__in=app_ids).delete()
        existing = set(self.apps.values_list("app_id", flat=True))
        for app_id in app_ids:
            if app_id not in existing:
                ManagedApp(token=self, app_id=app_id).save()


class ManagedApp(models.Model):
    """An app ID that a token manages. Within one user, an app belongs to exactly one token.

    ``user`` repeats ``token.user`` (``save()`` copies it) so that the database itself can enforce
    "one token per app per user": a unique constraint cannot follow a foreign key, and a
    check-then-insert in the form alone would let two concurrent saves both pass.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="apps")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_apps", editable=False
    )
    app_id = models.CharField(max_length=64)

    class Meta:
        ordering = ["app_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "app_id"], name="managed_app_unique_per_user"),
        ]

    def __str__(self) -> str:
        return self.app_id

    def save(self, *args, **kwargs) -> None:
        self.user_id = self.token.user_id
        super().save(*args, **kwargs)
