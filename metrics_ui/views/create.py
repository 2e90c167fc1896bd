"""Creating a custom metric with the filter-tree builder, and copying one to other apps. (Stubs.)"""

from django.http import HttpRequest, HttpResponse


def metric_create(request: HttpRequest, app_id: str) -> HttpResponse:
    return HttpResponse(status=501)


def metric_copy(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    return HttpResponse(status=501)
