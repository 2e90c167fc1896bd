"""The chart area of a metric's page: what it shows (a placeholder, a hint, a problem or the chart).

The detail page renders a placeholder that htmx fills after the page has loaded (so a slow Metrics API
never delays the page); without JavaScript the placeholder's link asks for the page with the chart
rendered inline (``?chart=1``). Either way the one range query goes through ``chart.fetch``.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from metrics_ui import catalog, upstream
from metrics_ui.metrics import chart
from metrics_ui.ops import errors
from metrics_ui.tokens import access


def urls(app_id: str, name: str, choice: chart.Choice) -> tuple[str, str]:
    """The htmx fragment's URL and the no-JavaScript page URL that shows the same chart inline."""
    params = urlencode({"range": choice.range_key, "granularity": choice.granularity})
    fragment = f"{reverse('metric_chart', args=[app_id, name])}?{params}"
    page = f"{reverse('metric_detail', args=[app_id, name])}?chart=1&{params}#chart"
    return fragment, page


def area(
    request: HttpRequest,
    app_id: str,
    name: str,
    choice: chart.Choice,
    *,
    in_metrics_api: bool = True,
    render_now: bool = True,
) -> dict:
    """The template context for ``metrics/chart.html``; never raises for an upstream or token problem."""
    chart_url, chart_page_url = urls(app_id, name, choice)
    context = {"chart_url": chart_url, "chart_page_url": chart_page_url, "choice": choice}
    if not in_metrics_api:
        return context | {"chart_state": "not_sent"}
    try:
        api = access.metrics_api_for(request.user, app_id)
        if api is None:
            return context | {"chart_state": "no_token"}
        if not render_now:
            return context | {"chart_state": "lazy"}
        drawn = chart.fetch(api, app_id, name, choice, time.time())
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        return context | {"chart_state": "problem", "problem": errors.problem(request, error, chart_page_url)}
    return context | {"chart_state": "ready", "chart": drawn}


def controls(choice: chart.Choice, granularities: tuple[str, ...]) -> dict:
    """The range buttons and the granularity choice, for the detail page's form."""
    return {
        "ranges": [(key, label) for key, (label, _) in chart.RANGES.items()],
        "granularities": [(g, catalog.GRANULARITY_LABELS[g]) for g in granularities],
        "choice": choice,
    }
