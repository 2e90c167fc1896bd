"""Create a metric exactly once, delete one, and say truthfully what happened.

The Custom Metrics API has no idempotency key, and a create is never retried, so three situations
need the same answer: a 409, a create that timed out (it may have reached Embrace), and a second
identical submission (double click, two tabs). In each, the console looks the metric up by name and
compares definitions: the same definition means the user's intent is already satisfied.

Two submissions of the same name by the same user in the same app are serialised with a short lock
in Django's cache (``cache.add`` is atomic in Redis and in the local-memory cache), so only one of
them talks to Embrace; the other waits for it and then reconciles.

A delete whose answer was lost (it may have reached Embrace) is reconciled the same way: the
console looks the metric up before saying anything.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from metrics_ui import upstream

# Long enough to cover one create (connect + read timeout); a crashed worker's lock expires by itself.
LOCK_SECONDS = 30
POLL_SECONDS = 0.05

# Outcome kinds, in the words the view and the form act on.
CREATED = "created"  # Embrace created it just now
EXISTED = "existed"  # it was already there with exactly this definition (409, timeout or double submit)
CONFLICT = "conflict"  # a metric with this name exists with a different definition
NOT_CREATED = "not_created"  # the create timed out and the metric is not there
UNCONFIRMED = "unconfirmed"  # the create timed out and we couldn't look it up either
FAILED = "failed"  # Embrace refused or failed before creating anything


@dataclass(frozen=True)
class Outcome:
    """What happened to one create submission."""

    kind: str
    metric: upstream.CustomMetric | None = None
    error: upstream.UpstreamError | None = None
    # How we learned it: "create", "conflict", "timeout" or "duplicate" (another submission won).
    via: str = "create"
    # The HTTP status Embrace answered the create with, for the audit trail (None: no answer).
    upstream_status: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.kind in (CREATED, EXISTED)


def _lock_key(user_id: object, app_id: str, name: str) -> str:
    digest = hashlib.sha256(f"{user_id}\x00{app_id}\x00{name}".encode()).hexdigest()[:32]
    return f"metrics_ui:create-lock:{digest}"


def _wait_seconds() -> float:
    return float(settings.UPSTREAM_CONNECT_TIMEOUT) + float(settings.UPSTREAM_READ_TIMEOUT) + 2.0


def create_once(client: upstream.Client, user_id: object, app_id: str, body: dict) -> Outcome:
    """Create ``body`` in ``app_id`` unless an identical submission is already doing so."""
    key = _lock_key(user_id, app_id, body["name"])
    if not cache.add(key, "1", timeout=LOCK_SECONDS):
        return _after_other_submission(client, key, app_id, body)
    try:
        return _create(client, app_id, body)
    finally:
        cache.delete(key)


def _create(client: upstream.Client, app_id: str, body: dict) -> Outcome:
    try:
        created = client.create_metric(app_id, body)
    except upstream.Conflict as error:
        return reconcile(client, app_id, body, via="conflict", error=error, status=409)
    except upstream.Unavailable as error:
        if getattr(error, "may_have_reached", False):
            return reconcile(client, app_id, body, via="timeout", error=error, status=None)
        return Outcome(FAILED, error=error, upstream_status=error.status)
    except upstream.UpstreamError as error:
        return Outcome(FAILED, error=error, upstream_status=error.status)
    return Outcome(CREATED, metric=created, upstream_status=200)


def _after_other_submission(client: upstream.Client, key: str, app_id: str, body: dict) -> Outcome:
    deadline = time.monotonic() + _wait_seconds()
    while cache.get(key) is not None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return reconcile(client, app_id, body, via="duplicate", error=None, status=None)


def reconcile(
    client: upstream.Client,
    app_id: str,
    body: dict,
    *,
    via: str,
    error: upstream.UpstreamError | None,
    status: int | None,
) -> Outcome:
    """Look the metric up by name and decide what the submission amounted to."""
    try:
        existing = client.find_metric(app_id, body["name"])
    except upstream.UpstreamError as lookup_error:
        return Outcome(UNCONFIRMED, error=error or lookup_error, via=via, upstream_status=status)
    if existing is None:
        # After a 409 this means it was deleted in between; either way nothing of ours exists.
        return Outcome(NOT_CREATED, error=error, via=via, upstream_status=status)
    if existing.same_definition(body):
        return Outcome(EXISTED, metric=existing, error=error, via=via, upstream_status=status)
    return Outcome(CONFLICT, metric=existing, error=error, via=via, upstream_status=status)


# --- delete -------------------------------------------------------------------------------------

# Delete outcomes, in the audit trail's words.
DELETED = "deleted"
ALREADY_DELETED = "already_deleted"
DELETED_AFTER_CHECK = "deleted_after_check"
DELETE_FAILED = "failed"
DELETE_UNCONFIRMED = (
    "Embrace didn't confirm the delete, and we couldn't check afterwards. It may already be deleted: "
    "open the list to check before trying again."
)


@dataclass(frozen=True)
class Deletion:
    """What happened to one delete."""

    kind: str
    upstream_status: int | None = None
    error: Exception | None = None
    unconfirmed: bool = False  # it may have been deleted, and we couldn't look

    @property
    def gone(self) -> bool:
        return self.kind != DELETE_FAILED


def delete_once(client: upstream.Client, app_id: str, name: str) -> Deletion:
    """Delete ``name`` from ``app_id``; a lost answer is checked by looking the metric up."""
    try:
        client.delete_metric(app_id, name)
    except upstream.NotFound as error:
        return Deletion(ALREADY_DELETED, error.status)
    except upstream.UpstreamError as error:
        if getattr(error, "may_have_reached", False):
            gone = _confirmed_gone(client, app_id, name)
            if gone:
                return Deletion(DELETED_AFTER_CHECK)
            if gone is None:
                unconfirmed = upstream.Unavailable(DELETE_UNCONFIRMED)
                return Deletion(DELETE_FAILED, getattr(unconfirmed, "status", None), unconfirmed, True)
        return Deletion(DELETE_FAILED, getattr(error, "status", None), error)
    return Deletion(DELETED, 204)


def _confirmed_gone(client: upstream.Client, app_id: str, name: str) -> bool | None:
    """True when the metric is no longer listed, False when it still is, None when we can't tell."""
    try:
        return client.find_metric(app_id, name) is None
    except upstream.UpstreamError:
        return None
