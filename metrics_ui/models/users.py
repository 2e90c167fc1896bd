from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who signs in to the console. With SSO, the e-mail address is the identity."""

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        EDITOR = "editor", "Editor"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=10, choices=Role, default=Role.VIEWER)

    @property
    def can_edit(self) -> bool:
        return self.role in {self.Role.EDITOR, self.Role.ADMIN}

    @property
    def is_console_admin(self) -> bool:
        return self.role == self.Role.ADMIN
