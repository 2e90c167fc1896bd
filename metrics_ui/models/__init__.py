"""The console's models, one module per concept."""

from metrics_ui.models.users import User

__all__ = ["User"]
