"""Apps, the metric list, detail and delete: HTTP glue between a person, their token and Embrace."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from metrics_ui import navigation, upstream
from metrics_ui.accounts.permissions import editor_required, viewer_required
from metrics_ui.audit import trail as audit
from metrics_ui.metrics import (
    budget,
    chart,
    chart_area,
    curl,
    describe,
    drift,
    echo,
    list_table,
    listing,
    notes,
    sparklines,
    writes,
)
from metrics_ui.metrics.delete_form import DeleteConfirmForm
from metrics_ui.ops import errors, ratelimit
from metrics_ui.tokens import access


@require_GET
@viewer_required
def home(request: HttpRequest) -> HttpResponse:
    """The user's apps with their metric counts: one list call per app, and a failing app (or an
    unreadable token) shows its own plain-language problem without breaking the others."""
    apps = []
    for ref in access.user_apps(request.user):
        row = {"ref": ref, "count": None, "problem": None}
        try:
            row["count"] = len(access.client_for(request.user, ref.app_id).list_metrics(ref.app_id))
        except (access.TokenUnreadable, upstream.UpstreamError) as error:
            row["problem"] = errors.problem(request, error)
        apps.append(row)
    return render(request, "metrics/home.html", {"apps": apps})


# --- The metric list, detail and delete ------------------------------------------------------
# Upstream failures are rendered as a banner inside a normal 200 page (htmx swaps only 2xx here), so
# the console never answers 5xx because Embrace misbehaved. Unknown apps raise Http404 from
# ``access.client_for``. Every view makes at most one upstream request.


@require_GET
@viewer_required
@vary_on_headers("HX-Request", "HX-Target")
def metric_list(request: HttpRequest, app_id: str) -> HttpResponse:
    query = listing.Query.from_params(request.GET)
    context = {"app_id": app_id, "query": query, "shown_q": echo.search_term(query.q)}
    try:
        client = access.client_for(request.user, app_id)
        listed = upstream.ahead(client.list_rows, app_id)  # the database is read while Embrace answers
        app_notes = notes.for_app(app_id)
        trend_lines = access.has_metrics_api(request.user, client.region)  # one query; decrypts nothing
        metrics = listed.result()
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        context["problem"] = errors.problem(request, error, request.get_full_path())
        table = _render_table(request, context)
    else:
        context["drift"] = seen = drift.observe(app_id, (m.name for m in metrics), app_notes)
        context |= _owner_filter(request, seen)
        trends_inline = trend_lines and request.GET.get("trends") == "1"
        table = list_table.html(
            request,
            (metrics.digest, seen.fingerprint, request.user.can_edit, trend_lines),
            lambda: _render_table(request, context | _rows(request, context, metrics, trend_lines)),
            keep=not trends_inline,
        )
    if navigation.wants_part(request, "metric-table"):
        return HttpResponse(table)
    return render(request, "metrics/list.html", context | {"table": table})


def _render_table(request: HttpRequest, context: dict) -> SafeString:
    return render_to_string("metrics/list.html#metric-table", context, request)


def _rows(request: HttpRequest, context: dict, metrics, trend_lines: bool) -> dict:
    """The page of rows that the page's query and owner ask for, described in words, and their trend-line
    column: what only a table that isn't kept yet needs."""
    app_id, owner = context["app_id"], context["owner"]
    owned = notes.owned_by(metrics, context["drift"].notes, owner) if owner else metrics
    page = listing.build(owned, context["query"])
    return {
        "listing": page,
        "page_obj": page.page,  # the name the shared pagination partial takes
        # One reverse per page rather than one per row: each costs tens of microseconds.
        "metric_url_prefix": reverse("metric_detail", args=[app_id, "_"]).removesuffix("_/"),
    } | _trend_lines(request, app_id, metrics, page.rows, trend_lines)


def _trend_lines(request: HttpRequest, app_id: str, metrics, rows, trend_lines: bool) -> dict:
    """The trend-line column, for people with a Metrics API token. The lines come after the page (one
    Metrics API request, by htmx: ``metric_trends``), so the list never waits for them; ``?trends=1``,
    the link shown without JavaScript, draws them in the page itself."""
    context = {"table_rows": [(row, None) for row in rows], "trend_lines": trend_lines}
    if not trend_lines:
        return context
    shown = {row.name for row in rows}
    series = [name for metric in metrics if metric.name in shown and (name := sparklines.series_name(metric))]
    context["trend_series"] = ",".join(series)
    if request.GET.get("trends") != "1":
        return context
    try:
        api = access.metrics_api_for(request.user, app_id)
    except access.TokenUnreadable as error:
        return context | {
            "trends_inline": True,
            "trend_lines_problem": errors.problem(request, error).message,
        }
    lines, problem = _fetch_trends(request, api, app_id, series)
    return context | {
        "table_rows": [(row, lines.get(row.name, "")) for row in rows],
        "trends_inline": True,
        "trend_lines_problem": problem,
    }


def _fetch_trends(request: HttpRequest, api, app_id: str, series: list[str]) -> tuple[dict, str]:
    """The lines by metric name, or none and a plain reason: the list itself is what the page is for."""
    try:
        return sparklines.fetch(api, app_id, series, scope=f"{request.user.pk}:{api.region}"), ""
    except upstream.UpstreamError as error:
        return {}, errors.problem(request, error).message


@require_GET
@viewer_required
def metric_trends(request: HttpRequest, app_id: str) -> HttpResponse:
    """The trend lines of the series a list page names, swapped into its rows (one Metrics API request)."""
    if not request.htmx:
        return redirect(f"{reverse('metric_list', args=[app_id])}?trends=1")
    asked = request.GET.get("series", "").split(",")[: listing.PAGE_SIZE]
    series = [name for name in asked if sparklines.metric_of(name)]
    try:
        api = access.metrics_api_for(request.user, app_id)
    except access.TokenUnreadable as error:
        api, problem = None, errors.problem(request, error).message
    else:
        problem = "" if api else "add a Metrics API token to see them."
    lines = {}
    if api is not None:
        lines, problem = _fetch_trends(request, api, app_id, series)
    names = [sparklines.metric_of(name) for name in series]
    context = {"trends": [(name, lines.get(name, "")) for name in names], "trend_lines_problem": problem}
    return render(request, "metrics/list.html#trend-lines", context)


def _owner_filter(request: HttpRequest, seen: drift.Drift) -> dict:
    """The "owned by" filter: its choices and the chosen owner."""
    return {"owners": notes.owners(seen.notes), "owner": request.GET.get("owner", "")[:200]}


@require_GET
@viewer_required
def metric_detail(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    context = {"app_id": app_id, "name": name}
    try:
        metric = access.client_for(request.user, app_id).find_metric(app_id, name)
    except upstream.InvalidInput:
        metric = None  # a name no metric can have: the same answer as a deleted one
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        context["problem"] = errors.problem(request, error, request.get_full_path())
        return render(request, "metrics/detail.html", context)
    if metric is None:
        context["name"] = echo.metric_name(name)  # the link's text is repeated only if it is a name
        return render(request, "errors/metric_missing.html", context, status=404)
    base_url = upstream.base_url(_region(request.user, app_id))
    context |= {
        "metric": describe.describe(metric),
        "curl_list": curl.list_command(base_url, app_id),
        "curl_delete": curl.delete_command(base_url, app_id, name),
        "note": notes.get(app_id, name),
    }
    context |= _chart(request, app_id, metric, context["metric"].in_metrics_api)
    return render(request, "metrics/detail.html", context)


def _chart(request: HttpRequest, app_id: str, metric: upstream.CustomMetric, in_api: bool) -> dict:
    """The chart section: loaded by htmx after the page, or inline when asked (``?chart=1``, no JS)."""
    granularities = chart.granularities_of(metric)
    choice = chart.Choice.from_params(request.GET, granularities)
    render_now = request.GET.get("chart") == "1"
    area = chart_area.area(request, app_id, metric.name, choice, in_metrics_api=in_api, render_now=render_now)
    return chart_area.controls(choice, granularities) | area


def _region(user, app_id: str) -> str:
    """The region of the user's token for ``app_id``; Http404 when none of their tokens manages it."""
    region = next((app.region for app in access.user_apps(user) if app.app_id == app_id), None)
    if region is None:
        raise Http404
    return region


@require_http_methods(["GET", "POST"])
@editor_required
def metric_delete(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    """GET asks for the typed confirmation (a dialog for htmx, a page without JavaScript); POST deletes."""
    _region(request.user, app_id)  # Http404 for an app none of the user's tokens manages
    if echo.metric_name(name) is None:
        raise Http404
    form = DeleteConfirmForm(request.POST or None, metric_name=name)
    context = {"app_id": app_id, "name": name, "form": form}
    dialog = navigation.wants_part(request, "delete-dialog")
    template = "metrics/delete.html#delete-dialog" if dialog else "metrics/delete.html"
    if request.method == "POST" and form.is_valid():
        reservation = budget.reserve(request)
        if not reservation.granted:
            context["problem"] = errors.Problem(ratelimit.MESSAGE, "", "", getattr(request, "request_id", ""))
            return ratelimit.refused(request, render(request, template, context))
        return _delete(request, reservation, app_id, name, template, context)
    return render(request, template, context)


DELETED = "Deleted “{name}” from {app_id}. Its series get no new points and forwarding has stopped."
ALREADY_DELETED = "“{name}” was already deleted, so there was nothing to do."


def _delete(
    request: HttpRequest,
    reservation: budget.Reservation,
    app_id: str,
    name: str,
    template: str,
    context: dict,
) -> HttpResponse:
    """Delete, audit, and go back to the list; on failure the form (name kept) is the retry."""
    try:
        deletion = reservation.delete(access.client_for(request.user, app_id), app_id, name)
    except (access.TokenUnreadable, upstream.UpstreamError) as error:  # no client to ask
        deletion = writes.Deletion(writes.DELETE_FAILED, getattr(error, "status", None), error)
    _audit_delete(request, app_id, name, deletion.upstream_status, deletion.kind)
    if deletion.gone:
        notes.record_deleted(app_id, name)
    if deletion.kind == writes.ALREADY_DELETED:
        return _back_to_list(request, app_id, messages.INFO, ALREADY_DELETED.format(name=name))
    if deletion.gone:
        return _back_to_list(request, app_id, messages.SUCCESS, DELETED.format(name=name, app_id=app_id))
    if deletion.unconfirmed:
        context["maybe_deleted"] = True
    context["problem"] = errors.problem(request, deletion.error)
    return render(request, template, context)


def _audit_delete(request: HttpRequest, app_id: str, name: str, status: int | None, outcome: str) -> None:
    audit.record(
        request, "metric.delete", app_id=app_id, metric=name, upstream_status=status, outcome=outcome
    )


def _back_to_list(request: HttpRequest, app_id: str, level: int, message: str) -> HttpResponse:
    messages.add_message(request, level, message)
    list_url = reverse("metric_list", args=[app_id])
    return navigation.go_to(request, list_url)
