from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person who signs in to the console.

    With single sign-on the account is bound to the identity provider's subject: the pair
    (``oidc_issuer``, ``oidc_subject``) from the first sign-in, matched at every later one. An
    e-mail address is only used, once and only when the provider says it is verified, to bind an
    account that exists without a subject (made by an admin, or from before the binding existed).
    """

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        EDITOR = "editor", "Editor"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=10, choices=Role, default=Role.VIEWER)
    oidc_issuer = models.CharField(max_length=255, blank=True, default="", editable=False)
    oidc_subject = models.CharField(max_length=255, blank=True, default="", editable=False)

    class Meta(AbstractUser.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["oidc_issuer", "oidc_subject"],
                condition=~Q(oidc_subject=""),
                name="one_account_per_oidc_subject",
            )
        ]

    @property
    def can_edit(self) -> bool:
        return self.role in {self.Role.EDITOR, self.Role.ADMIN}

    @property
    def is_console_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_bound_to_sso(self) -> bool:
        return bool(self.oidc_subject)
