"""Sessions signed in before the sign-in modules moved store the backend's old dotted path; people
signed in then stay signed in after an upgrade instead of being sent to sign in again."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY

from tests.auth.conftest import EDITOR, OIDC_BACKEND, session_store

pytestmark = pytest.mark.django_db(transaction=True)

OLD_OIDC_BACKEND = "metrics_ui.sso.OIDCBackend"


def store_backend(session_key: str, backend: str) -> None:
    store = session_store(session_key)
    store.load()
    store[BACKEND_SESSION_KEY] = backend
    store.save()


def test_a_session_signed_in_under_the_old_backend_path_stays_signed_in(sign_in, live_server):
    result = sign_in("alice@example.com", EDITOR)
    key = result.browser.cookies.get("console_session")
    store_backend(key, OLD_OIDC_BACKEND)  # what a session from the previous release holds

    home = result.browser.get(f"{live_server.url}/", allow_redirects=False, timeout=10)

    assert home.status_code == 200
    assert session_store(key).load()[BACKEND_SESSION_KEY] == OIDC_BACKEND
