"""The metric list's table, rendered once for each list, query and set of notes that it shows.

A table follows from the upstream's list (the digest of its body), the page's path and query string, the
app's notes as the table shows them (``drift.Drift.fingerprint``), whether the person may edit and
whether trend lines apply. Views that agree on all of these get the same HTML, so it is kept in the cache
under a key made of them: a change to any one is another key, so a stale table is never shown, and
tables nobody asks for again age out. Trend lines drawn in the page itself (``?trends=1``, the link shown
without JavaScript) follow the Metrics API's data, so such a table is never kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.safestring import SafeString

TABLE_SECONDS = 10 * 60


def html(
    request: HttpRequest, depends_on: tuple, render: Callable[[], SafeString], *, keep: bool = True
) -> SafeString:
    """The table for this request: from the cache when a view with the same ``depends_on`` (and the same
    path and query string) rendered it, else ``render()``. The cache keeps it a ``SafeString``."""
    if not keep:
        return render()
    parts = (request.path, request.GET.urlencode(), *depends_on)
    key = "metric-table:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    table = cache.get(key)
    if table is None:
        table = render()
        cache.set(key, table, TABLE_SECONDS)
    return table
