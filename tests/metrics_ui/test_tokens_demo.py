"""The demo wiring and the development sign-in: ``demo_setup`` and the login page."""

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from metrics_ui.models import ApiToken, User
from metrics_ui.tokens import encryption


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher costs about a second per hash on these machines; what is tested here is the flow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo_setup() -> str:
    out = StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def seed_token(key: str = "token") -> str:
    out = StringIO()
    call_command("sandbox_seed", "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])[key]


CUSTOM = ApiToken.Kind.CUSTOM_METRICS


def test_demo_setup_wires_the_sandbox_token_to_the_demo_user_and_can_run_twice(db, settings):
    first = demo_setup()
    saved = list(ApiToken.objects.order_by("kind").values_list("ciphertext", "updated_at"))
    second = demo_setup()
    assert list(ApiToken.objects.order_by("kind").values_list("ciphertext", "updated_at")) == saved
    user = User.objects.get(username=settings.DEMO_USERNAME)
    assert user.check_password(settings.DEMO_PASSWORD)
    assert user.role == User.Role.ADMIN
    token = ApiToken.objects.get(user=user, kind=CUSTOM)
    assert (token.label, token.region, token.app_ids) == ("Sandbox (demo)", "sandbox", ["appID1", "appID2"])
    assert encryption.decrypt(token.ciphertext) == seed_token()
    assert "created" in first and "already existed" in second and "unchanged" in second
    assert f"{settings.DEMO_USERNAME} / {settings.DEMO_PASSWORD}" in second
    assert seed_token() not in first + second


def test_demo_setup_rewrites_a_demo_token_that_can_no_longer_be_read(db, settings):
    demo_setup()
    settings.EMBRACE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    assert "refreshed" in demo_setup()
    assert encryption.decrypt(ApiToken.objects.get(kind=CUSTOM).ciphertext) == seed_token()


def test_demo_setup_gives_the_demo_user_the_sandboxs_metrics_api_token_for_the_charts(db, settings):
    demo_setup()
    output = demo_setup()
    user = User.objects.get(username=settings.DEMO_USERNAME)
    token = ApiToken.objects.get(user=user, kind=ApiToken.Kind.METRICS_API)
    assert (token.region, token.app_ids) == ("sandbox", [])
    assert encryption.decrypt(token.ciphertext) == seed_token("metrics_api_token")
    assert "Metrics API" in output and seed_token("metrics_api_token") not in output


def test_demo_setup_refuses_to_run_when_the_demo_sign_in_is_off(db, settings):
    settings.DEMO_LOGIN_ENABLED = False
    with pytest.raises(CommandError, match="development mode only"):
        demo_setup()
    assert not User.objects.exists()


@pytest.fixture
def demo(db, settings) -> User:
    return User.objects.create_user(settings.DEMO_USERNAME, password=settings.DEMO_PASSWORD)


def test_the_login_page_shows_the_demo_credentials_in_development_mode(client, demo):
    html = client.get(reverse("login")).content.decode()
    assert "Development mode: sign in as <strong>demo</strong>" in html


def test_a_wrong_password_gets_a_plain_message_and_keeps_the_username(client, demo):
    html = client.post(reverse("login"), {"username": "demo", "password": "nope"}).content.decode()
    assert "don't match" in html
    assert 'value="demo"' in html


def test_without_the_demo_sign_in_there_is_no_password_form_and_no_hint(client, db, settings):
    settings.DEMO_LOGIN_ENABLED = False
    html = client.get(reverse("login")).content.decode()
    assert 'name="password"' not in html
    assert "Development mode" not in html
    assert settings.DEMO_PASSWORD not in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_a_next_pointing_to_another_host_lands_on_home(client, demo, settings, target):
    response = client.post(
        f"{reverse('login')}?next={target}",
        {"username": settings.DEMO_USERNAME, "password": settings.DEMO_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_next_on_this_site_is_followed(client, demo, settings):
    response = client.post(
        reverse("login"),
        {"username": settings.DEMO_USERNAME, "password": settings.DEMO_PASSWORD, "next": "/tokens/"},
    )
    assert response["Location"] == "/tokens/"
