"""The audit trail: an append-only record of every change made through the console.

(Stub until issue 5 lands: ``record`` is the one entry point the views call.)
"""

from django.http import HttpRequest


def record(
    request: HttpRequest,
    action: str,
    *,
    app_id: str = "",
    metric: str = "",
    body: dict | None = None,
    upstream_status: int | None = None,
    outcome: str = "",
) -> None:
    """Append one audit record. ``body`` is the request body sent upstream; never a token."""
