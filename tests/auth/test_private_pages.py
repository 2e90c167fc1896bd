"""Pages for a signed-in person are never kept by the browser or a shared cache: every URL in the URLconf,
enumerated as in ``test_every_url``, answers a signed-in person with ``Cache-Control: no-store``, so the
Back button after signing out shows nothing. (Static files are answered by whitenoise before any of
this runs, with their own long-lived caching.)"""

import pytest

from metrics_ui.accounts.sessions import is_exempt
from metrics_ui.models import User
from tests.auth.test_every_url import HTMX, concrete, is_public, request, routes

# Probes and the sandbox API take no part in sign-in; everything else answers signed-in people.
SIGNED_IN_ROUTES = [
    (route, name) for route, name in routes() if not is_exempt("/" + route) and not is_public(route)
]


@pytest.fixture
def admin(db):
    return User.objects.create_user("boss@example.com", email="boss@example.com", role="admin")


def no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("route", "name"), SIGNED_IN_ROUTES, ids=[r for r, _ in SIGNED_IN_ROUTES])
def test_every_answer_to_a_signed_in_person_is_no_store(client, admin, route, name, htmx):
    client.force_login(admin)
    response = request(client, concrete(route), **(HTMX if htmx else {}))
    assert no_store(response), (route, response.status_code, response.get("Cache-Control"))


@pytest.mark.django_db
def test_a_page_seen_before_signing_out_is_not_kept_for_the_back_button(client, admin):
    client.force_login(admin)
    page = client.get("/")
    assert page.status_code == 200 and no_store(page)
    client.post("/logout/")
    assert client.get("/").status_code == 302  # what the Back button gets, since nothing was stored
