"""Signed-in users over the live sandbox, for the metric list, detail and delete tests.

``demo_user``: an editor whose own sandbox token (the seed token) manages the seed apps.
``signed_in_client``: Django's test client signed in as ``demo_user``; every request it makes goes
through the console to the live sandbox over real HTTP (``sandbox_url``).
``make_user(username, role, apps, token=None)``: another user with their own token, e.g. a viewer,
or one whose token is for another organization's app (the sandbox answers 403).
"""

import pytest
from cryptography.fernet import Fernet

from metrics_ui.models import ApiToken, User

TOKEN_KEY = Fernet.generate_key().decode()


@pytest.fixture
def make_user(db, seed, sandbox_url, settings):
    settings.EMBRACE_TOKEN_KEYS = [TOKEN_KEY]

    def make(username: str, role: str = User.Role.EDITOR, apps=None, token: str | None = None) -> User:
        user = User.objects.create_user(username, password=f"pw-{username}-123", role=role)
        api_token = ApiToken(user=user, label="Sandbox", region="sandbox")
        api_token.set_token(token or seed["token"])
        api_token.save()
        api_token.set_apps(list(apps if apps is not None else seed["apps"]))
        return user

    return make


@pytest.fixture
def demo_user(make_user) -> User:
    return make_user("demo-editor")


@pytest.fixture
def signed_in_client(client, demo_user):
    client.force_login(demo_user)
    return client
