"""The console's models, one module per concept."""

from metrics_ui.models.audit import AuditRecord
from metrics_ui.models.notes import MetricNote
from metrics_ui.models.tokens import ApiToken, ManagedApp
from metrics_ui.models.users import User

__all__ = ["ApiToken", "AuditRecord", "ManagedApp", "MetricNote", "User"]
