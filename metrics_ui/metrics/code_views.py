"""Metrics as code: export an app's metrics to a file, import one with a plan first, and the console's
notes on a metric (edit, adopt)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from metrics_ui import upstream
from metrics_ui.accounts.permissions import editor_required, viewer_required
from metrics_ui.audit import trail as audit
from metrics_ui.metrics import budget, echo, exchange, importing, notes, plan
from metrics_ui.metrics.parameters import base_metrics
from metrics_ui.ops import errors, ratelimit
from metrics_ui.tokens import access


@require_http_methods(["GET", "POST"])
@viewer_required
def metric_export(request: HttpRequest, app_id: str) -> HttpResponse:
    """The app's metrics as a file: all of them, or (POST from the list) the ticked ones."""
    try:
        metrics = access.client_for(request.user, app_id).list_metrics(app_id)
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        messages.error(request, f"Nothing was exported: {error.message}")
        return redirect("metric_list", app_id)
    ticked = set(request.POST.getlist("names"))
    if ticked:
        metrics = [m for m in metrics if m.name in ticked]
    text = exchange.dump(app_id, metrics, notes.exported(notes.for_app(app_id), (m.name for m in metrics)))
    audit.record(
        request, "metric.export", app_id=app_id, outcome="exported", detail=f"{len(metrics)} metrics"
    )
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exchange.filename(app_id)}"'
    return response


@require_http_methods(["GET", "POST"])
@editor_required
def metric_import(request: HttpRequest, app_id: str) -> HttpResponse:
    """GET: the file form. POST ``stage=plan``: the plan, nothing sent. POST ``stage=apply``: the writes."""
    form = importing.ImportForm(request.POST or None, request.FILES or None)
    context = {"app_id": app_id, "form": form, "stage": ""}
    if request.method == "GET" or not form.is_valid():
        return render(request, "metrics/import.html", context)
    try:
        client = access.client_for(request.user, app_id)
        the_plan = _plan(request, client, app_id, form.cleaned_data)
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        context["problem"] = errors.problem(request, error, request.get_full_path())
        return render(request, "metrics/import.html", context)
    context |= {"plan": the_plan, "sealed": importing.seal(form.cleaned_data["text"]), "stage": "plan"}
    if request.POST.get("stage") == "apply":
        return _apply(request, client, the_plan, context)
    audit.record(
        request, "metric.import_plan", app_id=app_id, outcome="planned", detail=str(the_plan.counts())
    )
    return render(request, "metrics/import.html", context)


def _plan(request: HttpRequest, client: upstream.Client, app_id: str, data: dict) -> plan.Plan:
    """The plan: ONE list call (the parameters come from their cache or the catalog). Only the metrics
    that bear on the file are made whole, all of them when the plan may delete."""
    bears = plan.related(exchange.names_in(data["text"]))
    rows = client.list_rows(app_id)
    existing = [row.full() for row in rows if data["delete_missing"] or bears(row.name)]
    document = exchange.read(data["text"], base_metrics(client, app_id)[0], existing)
    confirmed = request.POST.get("stage") == "apply"
    return plan.build(
        app_id, document, existing, delete_missing=data["delete_missing"],
        choices={k.removeprefix("choice-"): v for k, v in request.POST.items() if k.startswith("choice-")},
        on_conflict=plan.SKIP, only_remove=set(request.POST.getlist("remove")) if confirmed else None,
    )  # fmt: skip


def _apply(request: HttpRequest, client: upstream.Client, the_plan: plan.Plan, context: dict) -> HttpResponse:
    if the_plan.removals and request.POST.get("confirm", "").strip() != the_plan.app_id:
        context["confirm_error"] = f"Type {the_plan.app_id} to confirm the deletions. Nothing was sent."
        return render(request, "metrics/import.html", context)
    reservation = budget.reserve(request, the_plan.writes)
    if not reservation.granted:
        messages.error(request, importing.refused_words(the_plan.writes, reservation.left))
        return ratelimit.refused(request, render(request, "metrics/import.html", context))
    importing.run(request, request.user, reservation, client, the_plan)
    context["stage"] = "applied"
    return render(request, "metrics/import.html", context)


@require_http_methods(["GET", "POST"])
@editor_required
def metric_notes(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    """Edit a metric's description and owner (kept by the console, whatever Embrace holds)."""
    access.client_for(request.user, app_id)  # Http404 for an app none of the user's tokens manages
    if echo.metric_name(name) is None:
        raise Http404
    form = notes.NoteForm.for_note(notes.get(app_id, name), request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save(app_id, name)
        audit.record(request, "metric.notes", app_id=app_id, metric=name, outcome="saved")
        messages.success(request, f"Saved the notes on {name}.")
        return redirect("metric_detail", app_id, name)
    return render(request, "metrics/notes.html", {"app_id": app_id, "name": name, "form": form})


@require_POST
@editor_required
def metric_adopt(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    """Take a metric created outside the console under the console's notes and drift watch."""
    access.client_for(request.user, app_id)
    if echo.metric_name(name) is None:
        raise Http404
    notes.adopt(request.user, app_id, name)
    audit.record(request, "metric.adopt", app_id=app_id, metric=name, outcome="adopted")
    messages.success(request, f"{name} is now looked after by the console. Add a description and an owner.")
    return redirect("metric_notes", app_id, name)
