"""The sandbox's HTTP API: the Embrace Custom Metrics API, as documented, over the sandbox's models.

Every answer is JSON; every error is ``{"message": "..."}``. The order of checks is: the route and
the method (404, 405), the bearer token (403), the app id (400 when empty, 403 when the token's
organization doesn't own it, including apps that don't exist), then the body (413, 400) and the
stored data (404, 409).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.common import no_append_slash
from django.views.decorators.csrf import csrf_exempt

from metrics_ui import bounded_json, catalog
from sandbox import validation
from sandbox.models import APP_ID_RE, App, CustomMetric, Token
from sandbox.openapi import document as openapi_document

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "we had an internal error, please try again later"
_ID_ATTEMPTS = 5


class ApiError(Exception):
    """An answer other than success; ``status`` and the ``message`` the client reads."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def api_view(*methods: str) -> Callable:
    """Marks a sandbox endpoint: JSON errors, 405 for other methods, and never an HTML 500."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in allowed:
                response = _error(
                    405,
                    f"method {request.method} is not allowed on this endpoint; use {' or '.join(methods)}",
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return _error(error.status, error.message)
            except Exception:
                logger.exception("sandbox: unexpected error in %s", view.__name__)
                return _error(500, INTERNAL_ERROR)

        return no_append_slash(csrf_exempt(wrapper))

    return decorator


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def authorize(request: HttpRequest, app_id: str) -> App:
    """The app, if the request's bearer token may manage it; raises ApiError(400/403) otherwise."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise ApiError(403, "the Authorization header is missing; send Authorization: Bearer <token>")
    scheme, _, raw = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(403, "the Authorization header must be Bearer <token>")
    token = Token.authenticate(raw.strip())
    if token is None:
        raise ApiError(403, "the token is not valid: it is unknown or has been revoked")
    if not app_id.strip():
        raise ApiError(400, "app id can't be empty")
    # Unknown apps and other organizations' apps get the same answer, so a token cannot be used
    # to discover which app ids exist.
    denied = ApiError(403, f"you don't have access to app {_clip(app_id, 80)}")
    if not APP_ID_RE.fullmatch(app_id):
        raise denied
    app = App.objects.filter(app_id=app_id, organization_id=token.organization_id).first()
    if app is None:
        raise denied
    return app


def read_json(request: HttpRequest) -> object:
    """The request body parsed as JSON; raises ApiError(413) when too large, ApiError(400) when not JSON."""
    limit = validation.MAX_BODY_BYTES
    too_large = ApiError(413, f"the request body is too large: the limit is {limit // 1024} KB")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send the custom metric as a JSON object")
    try:
        return bounded_json.loads(raw, parse_constant=_reject_constant, max_chars=limit)
    except bounded_json.Refused as error:
        words = error.message[:1].lower() + error.message[1:]
        raise ApiError(400, f"the request body is not valid JSON: {words}") from None
    except json.JSONDecodeError as error:
        raise ApiError(
            400,
            f"the request body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
        ) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "the request body is not valid JSON") from None


def _reject_constant(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


@api_view("GET", "POST")
def custom_metrics(request: HttpRequest, app_id: str) -> HttpResponse:
    app = authorize(request, app_id)
    if request.method == "POST":
        return _create(request, app)
    return HttpResponse(CustomMetric.objects.list_json(app), content_type="application/json")


def _create(request: HttpRequest, app: App) -> HttpResponse:
    body = read_json(request)
    try:
        definition = validation.validate_create(body)
    except validation.Invalid as error:
        raise ApiError(400, error.message) from None
    for _ in range(_ID_ATTEMPTS):
        try:
            with transaction.atomic():
                metric = CustomMetric.objects.create(app=app, **definition)
        except IntegrityError:
            # Either the name is taken in this app (the unique constraint) or, very rarely, the
            # random id collided; only a committed row with this name means 409.
            if CustomMetric.objects.filter(app=app, name=definition["name"]).exists():
                raise ApiError(
                    409, f"a custom metric named {definition['name']} already exists in app {app.app_id}"
                ) from None
            continue
        return JsonResponse(metric.as_json())
    raise RuntimeError("could not allocate a unique custom_metric_id")


@api_view("DELETE")
def custom_metric(request: HttpRequest, app_id: str, name: str) -> HttpResponse:
    app = authorize(request, app_id)
    return _delete(app, name)


def _delete(app: App, name: str) -> HttpResponse:
    if not name:
        raise ApiError(400, "custom metric name can't be empty")
    missing = ApiError(404, f"metric {_clip(name)} doesn't exist")
    # A name that breaks the naming rule cannot have been stored; don't send it to the database.
    if len(name) > catalog.NAME_MAX_LENGTH or not catalog.NAME_RE.fullmatch(name):
        raise missing
    deleted, _ = CustomMetric.objects.filter(app=app, name=name).delete()
    if not deleted:
        raise missing
    return HttpResponse(status=204)


@api_view("GET", "DELETE")
def parameters(request: HttpRequest, app_id: str) -> HttpResponse:
    """The base-metric catalog; DELETE on this path deletes a custom metric named ``parameters``."""
    app = authorize(request, app_id)
    if request.method == "DELETE":
        return _delete(app, "parameters")
    chosen = catalog.get(request.GET.get("name", ""))
    metrics = [chosen] if chosen else list(catalog.BASE_METRICS)
    return JsonResponse([metric.as_json() for metric in metrics], safe=False)


@api_view("GET")
def openapi(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})


@no_append_slash
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return _error(
        404,
        f"there is no endpoint at /custom-metrics/{_clip(path, 120)}; "
        "the API lives under /custom-metrics/api/v1/app/<app_id>/custom-metrics",
    )
