"""Every URL in the URLconf, enumerated so none is forgotten: anonymous requests and users without
access are refused, as a full page and as an htmx request; editor-only and admin-only actions refuse
the roles below them. Only an explicit list of URLs is public, and the test checks that list too."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from metrics_ui.models import User

# The only routes anyone may open without signing in, each for a reason.
PUBLIC = {
    "login/",  # the sign-in page
    "no-access/",  # where refused people are told whom to ask
    "breakglass/<str:uidb64>/<str:token>/",  # a one-time link is its own credential (off by default)
    "oidc/callback/",  # the provider sends the browser back here
    "oidc/authenticate/",  # starts the sign-in at the provider
    "oidc/logout/",  # signing out needs no session
    "logout/",  # likewise (an anonymous POST just lands on the sign-in page)
    "healthz",  # probes for the orchestrator
    "readyz",
    "metrics",  # Prometheus: closed by its own bearer token / network allowlist
    "favicon.ico",  # a redirect to the public icon; the sign-in page shows it too
}
# The sandbox's two APIs (Custom Metrics, and the Metrics API): their own bearer tokens, like Embrace.
PUBLIC_PREFIXES = ("custom-metrics/", "metrics/")

# Every protected route is in exactly one of these, so a new route must be classified (and tested).
VIEWER_AND_UP = {
    "home", "token_list", "token_replace", "token_delete", "metric_list", "metric_trends", "metric_detail",
    "metric_chart", "metric_export",
}  # fmt: skip
EDITOR_ONLY = {
    "metric_create", "metric_copy", "metric_delete", "audit_log", "audit_export",
    "metric_import", "metric_notes", "metric_adopt",
}  # fmt: skip
ADMIN_ONLY = {"user_list", "user_deactivate", "user_reactivate", "user_end_sessions"}

DUMMY = {
    "int": "1",
    "str": "dummy-app",
    "slug": "dummy",
    "path": "dummy/path",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
HTMX = {"HTTP_HX_REQUEST": "true"}


def routes(patterns=None, prefix: str = "") -> list[tuple[str, str | None]]:
    """(route, name) for every URL pattern, resolvers followed recursively."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append((route, pattern.name))
    return found


def concrete(route: str) -> str:
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: DUMMY[m.group(1) or "str"], route)
    assert "<" not in path and "^" not in path, f"cannot fill {route!r}"
    return "/" + path


def is_public(route: str) -> bool:
    return route in PUBLIC or route.startswith(PUBLIC_PREFIXES)


PROTECTED = [(route, name) for route, name in routes() if not is_public(route)]


def request(client, path: str, **extra):
    """GET, or POST when the URL only answers POST: whichever reaches the permission check."""
    response = client.get(path, **extra)
    if response.status_code == 405:
        response = client.post(path, **extra)
    return response


def test_the_public_list_is_exactly_what_is_public(client):
    """Every route not in PUBLIC refuses an anonymous visitor, so PUBLIC can't silently grow; and
    every PUBLIC entry still exists, so it can't silently rot."""
    all_routes = {route for route, _ in routes()}
    assert all_routes >= PUBLIC, PUBLIC - all_routes
    protected = {name for _, name in PROTECTED}
    assert {"home", "token_list", "metric_list", "metric_detail", "audit_log", "user_list"} <= protected


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), PROTECTED, ids=[r for r, _ in PROTECTED])
def test_anonymous_full_page_is_sent_to_sign_in(client, route, name):
    response = request(client, concrete(route))
    assert response.status_code == 302, (route, response.status_code)
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), PROTECTED, ids=[r for r, _ in PROTECTED])
def test_anonymous_htmx_request_gets_hx_redirect_never_a_login_form(client, route, name):
    response = request(client, concrete(route), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/login/?next=")
    assert b"password" not in response.content and b"<form" not in response.content


@pytest.fixture
def no_role_user(db):
    return User.objects.create_user("norole@example.com", email="norole@example.com", role="")


@pytest.fixture
def deactivated_user(db):
    return User.objects.create_user(
        "gone@example.com", email="gone@example.com", role="admin", is_active=False
    )


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("route", "name"), PROTECTED, ids=[r for r, _ in PROTECTED])
def test_a_user_without_a_role_is_refused(client, no_role_user, route, name, htmx):
    client.force_login(no_role_user)
    response = request(client, concrete(route), **(HTMX if htmx else {}))
    assert response.status_code == 403, (route, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), PROTECTED, ids=[r for r, _ in PROTECTED])
def test_a_deactivated_user_is_treated_as_signed_out(client, deactivated_user, route, name):
    client.force_login(deactivated_user)
    response = request(client, concrete(route), **HTMX)
    assert "HX-Redirect" in response and response.status_code == 200


RESTRICTED = [(r, n) for r, n in PROTECTED if n in EDITOR_ONLY | ADMIN_ONLY]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("route", "name"), RESTRICTED, ids=[r for r, _ in RESTRICTED])
def test_roles_below_the_action_are_refused(client, route, name, htmx):
    """A viewer is refused every editor and admin action; an editor every admin action."""
    too_low = ["viewer"] if name in EDITOR_ONLY else ["viewer", "editor"]
    for role in too_low:
        user = User.objects.create_user(f"{role}@example.com", email=f"{role}@example.com", role=role)
        client.force_login(user)
        response = request(client, concrete(route), **(HTMX if htmx else {}))
        assert response.status_code == 403, (route, role, response.status_code)


def test_every_protected_route_has_its_minimum_role_written_down():
    names = [name for _, name in PROTECTED]
    assert len(names) == len(set(names))
    assert set(names) == VIEWER_AND_UP | EDITOR_ONLY | ADMIN_ONLY
    assert not (VIEWER_AND_UP & EDITOR_ONLY or VIEWER_AND_UP & ADMIN_ONLY or EDITOR_ONLY & ADMIN_ONLY)
