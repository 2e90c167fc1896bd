"""The one way a view reaches a write upstream: reserve the writes first, then spend them.

Every create, replacement, copy and delete costs one write per metric sent to Embrace, counted against
the person's budget (``ratelimit``). A view asks :func:`reserve` for all the writes it is about to make
(a copy into five apps reserves five) before anything is sent; a refused reservation sends nothing and
says how many would fit. A granted :class:`Reservation` is the only holder of the write calls, and it
refuses to make more writes than were reserved, so no path can write without counting.
"""

from __future__ import annotations

from django.http import HttpRequest

from metrics_ui import upstream
from metrics_ui.metrics import writes
from metrics_ui.ops import ratelimit


class Reservation:
    """Writes granted to one request: ``granted`` is False when the budget couldn't cover them."""

    def __init__(self, request: HttpRequest, count: int, left: int | None) -> None:
        self.user_id = request.user.pk
        self.count = count
        self.granted = left is None
        self.left = left  # when refused: how many writes the budget still allows

    def _spend(self) -> None:
        if not self.granted or self.count <= 0:
            raise RuntimeError("an upstream write without a reservation")
        self.count -= 1

    def create(self, client: upstream.Client, app_id: str, body: dict) -> writes.Outcome:
        """Create ``body`` in ``app_id`` once (see ``writes.create_once``); spends one write."""
        self._spend()
        return writes.create_once(client, self.user_id, app_id, body)

    def delete(self, client: upstream.Client, app_id: str, name: str) -> writes.Deletion:
        """Delete ``name`` in ``app_id``, a lost answer checked (``writes.delete_once``); spends one."""
        self._spend()
        return writes.delete_once(client, app_id, name)


def reserve(request: HttpRequest, count: int = 1) -> Reservation:
    """Count ``count`` writes against ``request.user``'s budget, all or none."""
    return Reservation(request, count, ratelimit.take(request, count))


def copy_refused(left: int) -> str:
    """Why a copy into more apps than the budget allows was not sent, and what the person can do."""
    if left <= 0:
        return (
            "You've made a lot of changes in a short time, so nothing was copied. "
            "Please wait a minute and try again."
        )
    apps = "1 more app" if left == 1 else f"{left} more apps"
    return f"You can copy to {apps} right now. Untick some apps, or wait a minute. Nothing was copied."
