"""Each user's own Embrace API tokens. (Stubs: being built.)"""

from django.http import HttpRequest, HttpResponse


def token_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)


def token_replace(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(status=501)


def token_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(status=501)
