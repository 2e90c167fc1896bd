"""Who may read the Metrics API: a bearer Metrics API token, which opens its organization's apps.

A missing, malformed, unknown or revoked token is 401; a Custom Metrics API token is 403 with a
message saying which kind of token is needed (the two kinds are separate, as in Embrace).
"""

from __future__ import annotations

from django.http import HttpRequest

from sandbox.metrics_api.envelope import FORBIDDEN, UNAUTHORIZED, PromError
from sandbox.models import Token, TokenKind, token_digest


def organization_id(request: HttpRequest) -> int:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise PromError(
            UNAUTHORIZED,
            "the Authorization header is missing; send Authorization: Bearer <Metrics API token>",
        )
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise PromError(UNAUTHORIZED, "the Authorization header must be Bearer <Metrics API token>")
    token = Token.objects.active().filter(digest=token_digest(raw.strip())).first()
    if token is None:
        raise PromError(UNAUTHORIZED, "the token is not valid: it is unknown or has been revoked")
    if token.kind != TokenKind.METRICS_API:
        raise PromError(
            FORBIDDEN, "this is a Custom Metrics API token; the Metrics API needs a Metrics API token"
        )
    return token.organization_id
