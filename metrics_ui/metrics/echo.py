"""What text from a URL a page may repeat back.

Anyone can send a link with any query string, so a page that says "There is no metric named <text>"
would print whatever sentence the link's author chose ("…your account is locked, call …") inside
the console's own trusted frame. Text from a URL is shown only when it has the shape of what it
claims to be (a metric name, a one-word search); otherwise the page says the same thing generically.
"""

from __future__ import annotations

import re

from metrics_ui import upstream

_SEARCH_WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def metric_name(text: str) -> str | None:
    """``text`` when it passes the metric-name rule, else None."""
    try:
        return upstream.validate_metric_name(text)
    except upstream.InvalidInput:
        return None


def search_term(text: str) -> str | None:
    """``text`` when it is one word of name characters (what a metric search looks like), else None."""
    return text if _SEARCH_WORD.fullmatch(text or "") else None
