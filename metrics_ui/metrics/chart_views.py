"""The chart fragment htmx loads into a metric's page after the page itself (one Metrics API request)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from metrics_ui.accounts.permissions import viewer_required
from metrics_ui.metrics import chart, chart_area, echo


@require_GET
@viewer_required
@vary_on_headers("HX-Request")
def metric_chart(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    if echo.metric_name(name) is None:
        raise Http404
    choice = chart.Choice.from_params(request.GET)
    if not request.htmx:  # followed without JavaScript: the metric's page shows the same chart inline
        return redirect(chart_area.urls(app_id, name, choice)[1])
    context = {"app_id": app_id, "name": name} | chart_area.area(request, app_id, name, choice)
    return render(request, "metrics/chart.html", context)
