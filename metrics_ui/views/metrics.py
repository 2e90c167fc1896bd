"""Apps, the metric list, detail and delete. (Stubs: being built.)"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metrics_ui.permissions import viewer_required


@require_GET
@viewer_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "metrics/home.html", {})


def metric_list(request: HttpRequest, app_id: str) -> HttpResponse:
    return HttpResponse(status=501)


def metric_detail(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    return HttpResponse(status=501)


def metric_delete(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    return HttpResponse(status=501)
