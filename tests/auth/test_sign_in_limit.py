"""The development password sign-in is throttled like a write: every attempt, failed or successful,
counts against the client's address and against the username typed."""

import pytest
from django.urls import reverse

from metrics_ui.models import User

LOGIN = reverse("login")
REFUSED = "There have been too many sign-in attempts in a short time. Please wait a minute and try again."
PASSWORD = "right-password-123"


@pytest.fixture
def three_attempts(settings, db):
    settings.DEMO_LOGIN_ENABLED = True
    settings.SIGN_IN_RATE_LIMIT = "3/h"  # an hour: a test never straddles the window
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_user("pat", password=PASSWORD, role=User.Role.VIEWER)
    User.objects.create_user("sam", password=PASSWORD, role=User.Role.VIEWER)
    return settings


def attempt(client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_after_the_limit_even_the_right_password_is_refused_with_a_message(client, three_attempts):
    for _ in range(3):
        page = attempt(client, "pat", "wrong").content.decode()
        assert "That username and password don't match" in page and REFUSED not in page
    response = attempt(client, "pat", PASSWORD)
    page = response.content.decode()
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert REFUSED in page
    assert 'value="pat"' in page  # the username is kept
    assert not signed_in(client)


def test_successful_sign_ins_count_too(client, three_attempts):
    for _ in range(3):
        assert attempt(client, "pat", PASSWORD).status_code == 302
        client.logout()
    assert attempt(client, "pat", PASSWORD).status_code == 429
    assert not signed_in(client)


def test_one_username_tried_from_many_addresses_is_refused(client, three_attempts):
    for number in range(3):
        attempt(client, "pat", "wrong", address=f"198.51.100.{number}")
    response = attempt(client, "pat", PASSWORD, address="198.51.100.99")
    assert response.status_code == 429 and REFUSED in response.content.decode()
    assert attempt(client, "sam", PASSWORD, address="198.51.100.99").status_code == 302  # others still can


def test_many_usernames_tried_from_one_address_are_refused(client, three_attempts):
    for name in ("ann", "bob", "cy"):
        attempt(client, name, "wrong")
    assert attempt(client, "sam", PASSWORD).status_code == 429
    assert attempt(client, "sam", PASSWORD, address="203.0.113.5").status_code == 302  # another address can
