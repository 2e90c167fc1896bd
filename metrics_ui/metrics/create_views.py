"""Creating a custom metric with the filter-tree builder, and copying one to other apps."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap

from metrics_ui import catalog, filter_tree, navigation, upstream
from metrics_ui.accounts.permissions import editor_required
from metrics_ui.audit import trail as audit
from metrics_ui.metrics import budget, notes
from metrics_ui.metrics import writes as create_guard
from metrics_ui.metrics.builder import TREE_ACTIONS, Builder
from metrics_ui.metrics.builder_rows import BuilderRows
from metrics_ui.metrics.copy_plan import CopyPlan
from metrics_ui.metrics.echo import metric_name as plausible_name
from metrics_ui.metrics.form import MetricForm, initial_for, name_problem, next_free_name
from metrics_ui.metrics.history import History
from metrics_ui.metrics.parameters import base_metrics
from metrics_ui.metrics.wording import failed_create, outcome_words
from metrics_ui.observability import current_request_id
from metrics_ui.ops import errors, ratelimit
from metrics_ui.tokens import access


@require_http_methods(["GET", "POST"])
@editor_required
def metric_create(request: HttpRequest, app_id: str) -> HttpResponse:
    try:
        client = access.client_for(request.user, app_id)
    except access.TokenUnreadable as error:
        problem = errors.problem(request, error, request.get_full_path())
        return render(request, "metrics/create.html", {"app_id": app_id, "problem": problem})
    if request.method == "GET" and "check_name" in request.GET:
        return _name_check(request, client, app_id)
    metrics, from_catalog = base_metrics(client, app_id)
    page = partial(_page, request, app_id, region=client.region, from_catalog=from_catalog)
    if request.method == "GET":
        form, builder, source = _prefilled(request, client, app_id, metrics)
        return page(form, builder, source=source)
    builder = Builder.from_data(request.POST, metrics.get(request.POST.get("metric", "")))
    form = MetricForm(builder.step(request.POST, metrics), metrics=metrics, tree=builder.tree)
    action = request.POST.get("action", "create")
    if action != "create":
        form.hold_errors()
        return page(form, builder, fragment=request.htmx and action.partition(":")[0] in TREE_ACTIONS)
    return _submit(request, client, app_id, form, builder, page)


def _submit(request: HttpRequest, client: upstream.Client, app_id: str, form, builder, page) -> HttpResponse:
    if builder.notices or not form.is_valid():
        # Conditions dropped by a base-metric change are never sent unseen: the person checks first.
        return page(form, builder, submitted=True)
    reservation = budget.reserve(request)
    if not reservation.granted:  # the per-user write limit, input kept
        form.add_error(None, ratelimit.MESSAGE)
        return ratelimit.refused(request, page(form, builder, submitted=True))
    source = (app_id, request.POST.get("replaces") or request.POST.get("copy_of", ""))
    outcome = _create(request, reservation, client, app_id, form.body(), source)
    if outcome.succeeded:
        return _created(request, app_id, outcome)
    return page(form, builder, outcome=outcome, submitted=True)


def _create(
    request: HttpRequest,
    reservation: budget.Reservation,
    client: upstream.Client,
    app_id: str,
    body: dict,
    source: tuple[str, str] | None = None,
) -> create_guard.Outcome:
    """Create, audit, and note who created it here (with the notes of ``source``, a copied metric)."""
    outcome = reservation.create(client, app_id, body)
    if outcome.kind == create_guard.CREATED:
        notes.record_created(request.user, app_id, body["name"], source)
    audit.record(
        request,
        "metric.create",
        app_id=app_id,
        metric=body["name"],
        body=body,
        upstream_status=outcome.upstream_status,
        outcome=f"{outcome.kind} ({outcome.via})",
    )
    return outcome


def _created(request: HttpRequest, app_id: str, outcome: create_guard.Outcome) -> HttpResponse:
    messages.success(request, outcome_words(outcome, app_id))
    replaces = request.POST.get("replaces", "")
    if replaces and replaces != outcome.metric.name:
        # A replacement: offer to delete the old metric right here (the API has no edit).
        context = {"app_id": app_id, "created": outcome.metric, "replaces": replaces, "copy_of": ""}
        return render(request, "metrics/create.html", context)
    url = reverse("metric_detail", args=[app_id, outcome.metric.name])
    return navigation.go_to(request, url)


NO_SUCH_SOURCE = "The link named a metric that isn't in {app_id}, so this form starts empty."


def _prefilled(request: HttpRequest, client: upstream.Client, app_id: str, metrics: dict):
    """The empty form, or one prefilled from ``?copy_of=`` / ``?replace=`` (the detail page's actions)."""
    # Most metrics people make count sessions; starting there shows the builder at once.
    first = "sessions_total" if "sessions_total" in metrics else next(iter(metrics), "")
    initial = {
        "metric": first,
        "time_granularity": [catalog.DEFAULT_GRANULARITY],
        "data_destination": [catalog.DEFAULT_DESTINATION],
    }
    tree, source = filter_tree.EMPTY, _source(request, client, app_id)
    if source is not None:
        initial, tree = initial_for(source.metric, source.name)
    form = MetricForm(initial=initial, metrics=metrics, tree=tree)
    builder = Builder(tree, form.base_metric, History())
    return form, builder, source


@dataclass(frozen=True)
class _Source:
    metric: upstream.CustomMetric
    name: str  # the name the new metric starts with
    replace: bool  # replacing the metric (then offered for deletion), or only copying it


def _source(request: HttpRequest, client: upstream.Client, app_id: str) -> _Source | None:
    """The metric to copy or replace, and a free name for the new one; warns when it can't be had."""
    source_name = request.GET.get("copy_of") or request.GET.get("replace") or ""
    if not source_name:
        return None
    if plausible_name(source_name) is None:  # only a real metric name from the link is repeated
        messages.warning(request, NO_SUCH_SOURCE.format(app_id=app_id))
        return None
    try:
        found = client.list_metrics(app_id)
    except upstream.UpstreamError as error:
        messages.warning(request, f"We couldn't load {source_name} to copy it: {error.message}")
        found = ()
    source = next((m for m in found if m.name == source_name), None)
    if source is None:
        if found:
            messages.warning(request, f"There is no metric named {source_name} in {app_id} to copy.")
        return None
    taken = {m.name for m in found}
    replace = "replace" in request.GET
    if replace:
        name = next_free_name(source.name, taken)
    elif f"{source.name}_copy" in taken:
        name = next_free_name(f"{source.name}_copy", taken)
    else:
        name = f"{source.name}_copy"
    return _Source(source, name, replace)


def _name_check(request: HttpRequest, client: upstream.Client, app_id: str) -> HttpResponse:
    name = request.GET.get("name", "").strip()
    problem = name_problem(name)
    state = "bad" if problem else "ok"
    if not problem:
        try:
            if client.find_metric(app_id, name) is not None:
                problem, state = f"A metric named {name} already exists in {app_id}.", "taken"
        except upstream.UpstreamError:
            problem, state = "We couldn't check whether this name is free right now.", "unknown"
    context = {"app_id": app_id, "name": name, "problem": problem, "state": state}
    return render(request, "metrics/create.html#name-check", context)


def _page(
    request,
    app_id,
    form,
    builder,
    *,
    region="sandbox",
    from_catalog=False,
    fragment=False,
    outcome=None,
    source=None,
    submitted=False,
):
    rows = BuilderRows(form, builder, app_id, region=region, submitted=submitted)
    if outcome is not None:
        rows.apply_outcome(outcome)
    context = {
        "app_id": app_id,
        "form": form,
        "b": rows,
        "from_catalog": from_catalog,
        "outcome": outcome,
        # What the page is (its title and breadcrumb): a replacement, a copy, or a new metric.
        "replaces": _source_name(source, request.POST.get("replaces", ""), replace=True),
        "copy_of": _source_name(source, request.POST.get("copy_of", ""), replace=False),
        "reference": current_request_id.get(""),
        "json_import": request.POST.get("json_import", ""),
        "partial_response": fragment,
        "json_open": "1" if request.POST.get("json_open") else "",
    }
    if outcome is not None:
        context["outcome_words"] = failed_create(outcome, app_id)
    if fragment and rows.incremental:
        # Only the new row, the status line and (if shown) the JSON: a few KB whatever the tree's size.
        return reswap(render(request, "metrics/create.html#add-condition", context), "none")
    template = "metrics/create.html#filter-tree" if fragment else "metrics/create.html"
    return render(request, template, context)


def _source_name(source: _Source | None, posted: str, *, replace: bool) -> str:
    """The metric this page replaces (or copies): from the link on the first visit, then from the form."""
    if source is not None:
        return source.metric.name if source.replace == replace else ""
    return posted if plausible_name(posted) is not None else ""


COPY_STAGES = ("check", "confirm")


@require_http_methods(["GET", "POST"])
@editor_required
def metric_copy(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    if plausible_name(name) is None:  # no metric has it; and the page would repeat the link's text
        raise Http404
    try:
        source = access.client_for(request.user, app_id).find_metric(app_id, name)
    except (access.TokenUnreadable, upstream.UpstreamError) as error:
        return render(request, "metrics/copy.html", {"app_id": app_id, "name": name, "error": error})
    if source is None:
        messages.warning(request, f"{name} doesn't exist in {app_id} any more.")
        return redirect("metric_list", app_id)
    targets = [a for a in access.user_apps(request.user) if a.app_id != app_id]
    chosen = [a for a in targets if a.app_id in request.POST.getlist("apps")]
    stage = request.POST.get("stage", "")
    plan = CopyPlan(request.user, source, chosen) if chosen and stage in COPY_STAGES else None
    if plan is not None and stage == "confirm":
        stage = _copy(request, plan)
    context = {"app_id": app_id, "name": name, "source": source, "targets": targets, "plan": plan,
               "chosen": [a.app_id for a in chosen], "stage": stage if plan else ""}  # fmt: skip
    return render(request, "metrics/copy.html", context)


def _copy(request: HttpRequest, plan: CopyPlan) -> str:
    """Send the plan's creates, or none of them; the stage the page shows next."""
    # One write per app, all reserved before the first is sent: a copy never stops halfway on the limit.
    reservation = budget.reserve(request, len(plan.will_create))
    if not reservation.granted:
        messages.error(request, budget.copy_refused(reservation.left))
        return "check"  # the plan is shown again, with its confirm button and the apps kept
    source = (plan.source.app_id, plan.source.name)
    plan.run(lambda body, row: _create(request, reservation, row.client, row.app_id, body, source))
    return "confirm"
