"""Search, sort and pagination over one app's custom metrics.

The upstream returns every metric of an app in one unpaginated list, so the console does the
rest in memory: a case-insensitive search, a stable sort and Django's ``Paginator``. Search and
sort read only each row's name and base metric; only the metrics on the page being shown are
made whole and described in words (see ``describe``), which keeps a 5,000-metric app as quick to
page through as a small one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.paginator import Page, Paginator

from metrics_ui import catalog
from metrics_ui.metrics import describe

if TYPE_CHECKING:
    from metrics_ui.upstream import ListedMetric

PAGE_SIZE = 50
QUERY_MAX_LENGTH = 100

# Sort keys a URL may carry; a leading "-" reverses. Anything else falls back to the default.
SORT_COLUMNS = {"name": "Name", "metric": "Base metric"}
DEFAULT_SORT = "name"


@dataclass(frozen=True)
class Query:
    """What the person asked for: the search text, the sort and the page, as the URL carries them."""

    q: str = ""
    sort: str = DEFAULT_SORT
    page: str = "1"

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Query:
        """Read ``q``, ``sort`` and ``page`` from a query string, quietly ignoring nonsense."""
        q = " ".join(str(params.get("q", "")).split())[:QUERY_MAX_LENGTH]
        sort = str(params.get("sort", DEFAULT_SORT))
        if sort.removeprefix("-") not in SORT_COLUMNS:
            sort = DEFAULT_SORT
        return cls(q=q, sort=sort, page=str(params.get("page", "1"))[:10])

    @property
    def column(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def headers(self) -> list[Header]:
        """The sortable column headers: where each one links to and its ``aria-sort`` state."""
        result = []
        for column, label in SORT_COLUMNS.items():
            if column == self.column:
                state = "descending" if self.descending else "ascending"
                next_sort = column if self.descending else f"-{column}"
            else:
                state, next_sort = "none", column
            result.append(Header(column, label, state, next_sort))
        return result


@dataclass(frozen=True)
class Header:
    column: str
    label: str
    aria_sort: str  # "ascending", "descending" or "none"
    next_sort: str  # the sort a click on this header asks for

    @property
    def sorted(self) -> bool:
        return self.aria_sort != "none"


@dataclass(frozen=True)
class Listing:
    """One page of an app's metrics, ready to render."""

    query: Query
    total: int  # metrics in the app
    matched: int  # metrics that match the search
    page: Page  # its object_list holds ``describe.Summary`` rows

    @property
    def rows(self) -> Sequence[describe.Summary]:
        return self.page.object_list


def matches(metric: ListedMetric, words: Sequence[str]) -> bool:
    """True when every word appears in the metric's name or its base metric (name or display name)."""
    haystack = f"{metric.name} {metric.metric} {catalog.display_name(metric.metric)}".lower()
    return all(word in haystack for word in words)


def _sort_key(column: str):
    if column == "metric":
        return lambda m: (catalog.display_name(m.metric).lower(), m.name.lower(), m.name)
    return lambda m: (m.name.lower(), m.name)


def build(metrics: Sequence[ListedMetric], query: Query, per_page: int = PAGE_SIZE) -> Listing:
    """Search, sort and cut ``metrics`` (``upstream.ListedMetric``) into the page ``query`` asks for.

    A page number past the end shows the last page; a page number that isn't a number, the first.
    """
    words = query.q.lower().split()
    found = [m for m in metrics if matches(m, words)] if words else list(metrics)
    found.sort(key=_sort_key(query.column), reverse=query.descending)
    page = Paginator(found, per_page).get_page(query.page)
    page.object_list = [describe.summary(m.full()) for m in page.object_list]
    return Listing(query=query, total=len(metrics), matched=len(found), page=page)
