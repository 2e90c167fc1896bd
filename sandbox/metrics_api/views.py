"""The Metrics API's endpoints: a subset of the Prometheus HTTP API under ``/metrics/api/v1/``.

Every answer is a Prometheus envelope, errors included (see envelope.py for the statuses).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.common import no_append_slash
from django.views.decorators.csrf import csrf_exempt

from sandbox.metrics_api import answers, auth
from sandbox.metrics_api.envelope import METHOD, NOT_FOUND, PromError, error, success

logger = logging.getLogger(__name__)


def prometheus_endpoint(answer: Callable) -> Callable:
    """GET or POST, a Metrics API token, and an envelope around whatever ``answer`` returns."""

    @functools.wraps(answer)
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        try:
            if request.method not in ("GET", "HEAD", "POST"):
                raise PromError(METHOD, f"method {request.method} is not allowed here; use GET or POST")
            return success(answer(request, auth.organization_id(request), **kwargs))
        except PromError as problem:
            response = error(problem)
        except Exception:
            logger.exception("sandbox metrics api: unexpected error in %s", answer.__name__)
            response = error(PromError(("internal", 500), "internal error"))
        if response.status_code == 405:
            response["Allow"] = "GET, POST"
        return response

    return no_append_slash(csrf_exempt(view))


query_range = prometheus_endpoint(answers.query_range)
query = prometheus_endpoint(answers.query)
labels = prometheus_endpoint(answers.label_names)
label_values = prometheus_endpoint(answers.label_values)


@no_append_slash
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error(PromError(NOT_FOUND, f"the sandbox's Metrics API has no endpoint at /metrics/{path[:120]}"))
