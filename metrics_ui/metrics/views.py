"""Apps, the metric list, detail and delete: HTTP glue between a person, their token and Embrace."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from metrics_ui import echo, upstream, writes
from metrics_ui.accounts.permissions import editor_required, viewer_required
from metrics_ui.audit import trail as audit
from metrics_ui.metrics import describe, listing
from metrics_ui.ops import errors, ratelimit
from metrics_ui.tokens import access
from metrics_ui.tokens.forms import DeleteConfirmForm


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
# Upstream failures are rendered as a banner inside a normal 200 page (htmx 2 swaps only 2xx), so
# the console never answers 5xx because Embrace misbehaved. Unknown apps raise Http404 from
# ``access.client_for``. Every view makes at most one upstream request.


def _fragment(request: HttpRequest, target: str) -> bool:
    """True for an htmx request aimed at ``#target`` (not a boosted link, not a history restore)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request and htmx.target == target


@require_GET
@viewer_required
@vary_on_headers("HX-Request", "HX-Target")
def metric_list(request: HttpRequest, app_id: str) -> HttpResponse:
    query = listing.Query.from_params(request.GET)
    context = {"app_id": app_id, "query": query, "shown_q": echo.search_term(query.q)}
    try:
        metrics = access.client_for(request.user, app_id).list_metrics(app_id)
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        context["problem"] = errors.problem(request, error, request.get_full_path())
    else:
        context["listing"] = listing.build(metrics, query)
        # One reverse per page rather than one per row: each costs tens of microseconds.
        context["metric_url_prefix"] = reverse("metric_detail", args=[app_id, "_"]).removesuffix("_/")
    fragment = _fragment(request, "metric-table")
    return render(request, "metrics/list.html#metric-table" if fragment else "metrics/list.html", context)


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
        "curl_list": describe.curl_list(base_url, app_id),
        "curl_delete": describe.curl_delete(base_url, app_id, name),
    }
    return render(request, "metrics/detail.html", context)


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
    if not _plausible_name(name):
        raise Http404
    form = DeleteConfirmForm(request.POST or None, metric_name=name)
    context = {"app_id": app_id, "name": name, "form": form}
    dialog = _fragment(request, "delete-dialog")
    template = "metrics/delete.html#delete-dialog" if dialog else "metrics/delete.html"
    reservation = writes.reserve(request) if request.method == "POST" and form.is_valid() else None
    if reservation is not None and not reservation.granted:
        context["problem"] = errors.Problem(ratelimit.MESSAGE, "", "", getattr(request, "request_id", ""))
        return ratelimit.refused(request, render(request, template, context))
    if reservation is not None:
        try:
            client = access.client_for(request.user, app_id)
            reservation.delete(client, app_id, name)
        except upstream.NotFound as error:
            _audit_delete(request, app_id, name, error.status, "already_deleted")
            return _back_to_list(request, app_id, messages.INFO, ALREADY_DELETED.format(name=name))
        except (access.TokenUnreadable, upstream.UpstreamError) as error:
            if getattr(error, "may_have_reached", False):
                # The delete may have been carried out with its answer lost: look before saying anything.
                gone = _confirmed_gone(client, app_id, name)
                if gone:
                    _audit_delete(request, app_id, name, None, "deleted_after_check")
                    deleted = DELETED.format(name=name, app_id=app_id)
                    return _back_to_list(request, app_id, messages.SUCCESS, deleted)
                if gone is None:
                    error = upstream.Unavailable(UNCONFIRMED)
                    context["maybe_deleted"] = True
            _audit_delete(request, app_id, name, getattr(error, "status", None), "failed")
            context["problem"] = errors.problem(request, error)  # the form, name kept, is the retry
        else:
            _audit_delete(request, app_id, name, 204, "deleted")
            return _back_to_list(request, app_id, messages.SUCCESS, DELETED.format(name=name, app_id=app_id))
    return render(request, template, context)


DELETED = "Deleted “{name}” from {app_id}. Its series get no new points and forwarding has stopped."
ALREADY_DELETED = "“{name}” was already deleted, so there was nothing to do."
UNCONFIRMED = (
    "Embrace didn't confirm the delete, and we couldn't check afterwards. It may already be deleted: "
    "open the list to check before trying again."
)


def _confirmed_gone(client: upstream.Client, app_id: str, name: str) -> bool | None:
    """True when the metric is no longer listed, False when it still is, None when we can't tell."""
    try:
        return client.find_metric(app_id, name) is None
    except upstream.UpstreamError:
        return None


def _plausible_name(name: str) -> bool:
    try:
        upstream.validate_metric_name(name)
    except upstream.InvalidInput:
        return False
    return True


def _audit_delete(request: HttpRequest, app_id: str, name: str, status: int | None, outcome: str) -> None:
    audit.record(
        request, "metric.delete", app_id=app_id, metric=name, upstream_status=status, outcome=outcome
    )


def _back_to_list(request: HttpRequest, app_id: str, level: int, message: str) -> HttpResponse:
    messages.add_message(request, level, message)
    list_url = reverse("metric_list", args=[app_id])
    # htmx follows a 302 inside the dialog; HX-Redirect makes the whole browser go to the list.
    return HttpResponseClientRedirect(list_url) if request.htmx else redirect(list_url)
