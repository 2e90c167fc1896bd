"""The audit trail: an append-only record of every change made through the console, every sign-in,
refused sign-in and access refusal.

``record`` is the one entry point. Views call it for every create/delete attempt and token change;
sign-in and sign-out are recorded here from Django's auth signals (whatever the sign-in path), and
refusals by ``metrics_ui.accounts.oidc``, ``metrics_ui.accounts.proxy`` and the 403 handler. An
audit failure is logged and never breaks the person's action.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time

from django import forms
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest

from metrics_ui.models import AuditRecord
from metrics_ui.network import client_ip
from metrics_ui.observability import current_request_id

logger = logging.getLogger("metrics_ui.audit")  # the name operators filter on

# Keys whose values never enter the trail, at any depth of the body.
_SECRET_KEY_PARTS = ("token", "authorization", "secret", "password", "api_key", "apikey")
REMOVED = "[removed]"

# What the audit page calls each action (unknown actions are shown as recorded).
ACTION_LABELS = {
    "auth.sign_in": "Signed in",
    "auth.sign_out": "Signed out",
    "auth.refused": "Sign-in refused",
    "auth.forbidden": "Access refused",
    "auth.breakglass_issued": "Break-glass link issued",
    "auth.linked": "Account linked to single sign-on",
    "auth.unlinked": "Single sign-on link removed",
    "metric.create": "Created a metric",
    "metric.delete": "Deleted a metric",
    "metric.export": "Exported metrics",
    "metric.import_plan": "Planned an import",
    "metric.import": "Applied an import",
    "metric.notes": "Edited a metric's notes",
    "metric.adopt": "Adopted a metric made outside the console",
    "token.add": "Added a token",
    "token.replace": "Replaced a token",
    "token.remove": "Removed a token",
    "token.rotate": "Re-encrypted tokens under the newest key",
    "user.deactivate": "Deactivated a user",
    "user.reactivate": "Reactivated a user",
    "user.end_sessions": "Ended a user's sessions",
}


def scrub(value: object) -> object:
    """A copy of ``value`` with every token-like key's value replaced, however deep it sits."""
    if isinstance(value, dict):
        return {
            key: REMOVED if any(part in str(key).lower() for part in _SECRET_KEY_PARTS) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def record(
    request: HttpRequest | None,
    action: str,
    *,
    app_id: str = "",
    metric: str = "",
    body: dict | None = None,
    upstream_status: int | None = None,
    outcome: str = "",
    detail: str = "",
    actor=None,
    username: str = "",
) -> AuditRecord | None:
    """Append one audit record. ``body`` is the request body sent upstream; never a token.

    ``request`` is ``None`` for management commands (pass ``actor``, the user acted for, if any).
    ``username`` names the identity that was tried when nobody is signed in (refused sign-ins).
    Returns the record, or ``None`` if it could not be written (that is logged, never raised).
    """
    try:
        user = actor
        if user is None and request is not None:
            candidate = getattr(request, "user", None)
            if candidate is not None and candidate.is_authenticated:
                user = candidate
        # A savepoint: a failed insert must not poison the caller's transaction.
        with transaction.atomic():
            return AuditRecord.objects.create(
                user=user,
                username=(user.get_username() if user is not None else username)[:254],
                email=(getattr(user, "email", "") or (username if "@" in username else ""))[:254],
                action=action[:64],
                app_id=(app_id or "")[:64],
                metric=(metric or "")[:200],
                body=scrub(body) if body is not None else None,
                upstream_status=upstream_status,
                outcome=(outcome or "")[:40],
                detail=(detail or "")[:500],
                request_id=_request_id(request)[:64],
                source_ip=_source_ip(request),
            )
    except Exception:
        logger.exception("Could not write the audit record", extra={"audit_action": action})
        return None


# Anonymous refusals (a forged sign-in callback, a guessed break-glass link) are recorded once per
# source address and reason in this window, so nobody can fill the trail from outside.
ANONYMOUS_REFUSAL_WINDOW_SECONDS = 300


def record_anonymous(
    request: HttpRequest, action: str, *, reason: str, detail: str, outcome: str = "rejected"
):
    """``record``, at most once per source address, ``action`` and ``reason`` per window.

    ``reason`` is a short code the caller chose, never text from the request; the cache key is a
    hash either way, so nothing the sender typed can shape it. Returns the record, or ``None``.
    """
    source = _source_ip(request) or "unknown"
    digest = hashlib.sha256(f"{action}\0{source}\0{reason}".encode()).hexdigest()
    if not cache.add(f"audit-anonymous:{digest}", 1, ANONYMOUS_REFUSAL_WINDOW_SECONDS):
        return None
    return record(request, action, outcome=outcome, detail=detail)


def os_user() -> str:
    """Who ran a management command, for the records commands write."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _request_id(request: HttpRequest | None) -> str:
    if request is not None and getattr(request, "request_id", ""):
        return request.request_id
    current = current_request_id.get()
    return "" if current == "-" else current


def _source_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return client_ip(request)


# --- Sign-in and sign-out, whatever the path (SSO, trusted proxy, demo, break-glass) -------------


@receiver(user_logged_in, dispatch_uid="metrics_ui.audit.signed_in")
def _signed_in(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "META"):
        return
    via = getattr(request, "sign_in_via", "") or _backend_label(request, user)
    record(request, "auth.sign_in", outcome="success", detail=via, actor=user)


@receiver(user_logged_out, dispatch_uid="metrics_ui.audit.signed_out")
def _signed_out(sender, request, user, **kwargs) -> None:
    if user is None or request is None:
        return
    reason = getattr(request, "sign_out_reason", "signed out")
    record(request, "auth.sign_out", outcome="success", detail=reason, actor=user)


@receiver(user_login_failed, dispatch_uid="metrics_ui.audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # SSO and proxy refusals are recorded with their reason where they happen; this catches
    # password attempts (the development demo form).
    if "username" in credentials and request is not None:
        record(
            request,
            "auth.refused",
            outcome="refused",
            detail="wrong username or password",
            username=str(credentials.get("username", "")),
        )


def _backend_label(request: HttpRequest, user) -> str:
    session = getattr(request, "session", None)
    backend = getattr(user, "backend", "") or (session.get(BACKEND_SESSION_KEY, "") if session else "")
    labels = {
        "metrics_ui.accounts.oidc.OIDCBackend": "single sign-on (OIDC)",
        "metrics_ui.accounts.proxy.ProxyHeaderBackend": "trusted proxy",
        "django.contrib.auth.backends.ModelBackend": "local password",
    }
    return labels.get(backend, backend)


# --- Reading the trail: the browse page and the CSV export --------------------------------------


_DATE = {"type": "date"}


class AuditFilterForm(forms.Form):
    """Filters for the audit page. Every field is optional; bad dates are reported, not ignored."""

    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *ACTION_LABELS.items()])
    outcome = forms.CharField(required=False, max_length=40)
    app_id = forms.CharField(required=False, max_length=64, label="App ID")
    metric = forms.CharField(required=False, max_length=200)
    person = forms.CharField(required=False, max_length=254, help_text="Part of a username or e-mail.")
    since = forms.DateField(required=False, label="From (UTC)", widget=forms.DateInput(attrs=_DATE))
    until = forms.DateField(required=False, label="To (UTC)", widget=forms.DateInput(attrs=_DATE))

    def __init__(self, *args, sees_everyone: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not sees_everyone:
            # Editors only ever see their own records; the field would filter nothing.
            del self.fields["person"]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned


def records_for(user, filters: dict | None = None) -> QuerySet[AuditRecord]:
    """The records ``user`` may read (admins: everyone's; others: their own), filtered."""
    records = AuditRecord.objects.select_related("user")
    if not user.is_console_admin:
        records = records.filter(user=user)
    filters = filters or {}
    if filters.get("action"):
        records = records.filter(action=filters["action"])
    if filters.get("outcome"):
        records = records.filter(outcome__iexact=filters["outcome"])
    if filters.get("app_id"):
        records = records.filter(app_id=filters["app_id"])
    if filters.get("metric"):
        records = records.filter(metric__icontains=filters["metric"])
    if filters.get("person"):
        person = filters["person"]
        records = records.filter(Q(username__icontains=person) | Q(email__icontains=person))
    if filters.get("since"):
        records = records.filter(created_at__gte=datetime.combine(filters["since"], time.min, tzinfo=UTC))
    if filters.get("until"):
        records = records.filter(created_at__lte=datetime.combine(filters["until"], time.max, tzinfo=UTC))
    return records


CSV_COLUMNS = (
    "time_utc",
    "username",
    "email",
    "action",
    "app_id",
    "metric",
    "outcome",
    "upstream_status",
    "detail",
    "request_id",
    "source_ip",
    "body",
)

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """The cell's text, with a leading ``'`` when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_rows(records: Iterable[AuditRecord]) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for item in records:
        yield [
            csv_safe(cell)
            for cell in (
                item.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                item.username,
                item.email,
                item.action,
                item.app_id,
                item.metric,
                item.outcome,
                item.upstream_status if item.upstream_status is not None else "",
                item.detail,
                item.request_id,
                item.source_ip or "",
                json.dumps(item.body, sort_keys=True) if item.body is not None else "",
            )
        ]
