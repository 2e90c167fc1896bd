"""Metrics API tokens on the token page: added, checked with the live sandbox's Metrics API, replaced."""

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from metrics_ui.models import ApiToken, User
from metrics_ui.tokens import encryption

KEY = Fernet.generate_key().decode()


@pytest.fixture
def alice(db, settings) -> User:
    settings.EMBRACE_TOKEN_KEYS = [KEY]
    return User.objects.create_user("alice", role=User.Role.EDITOR)


@pytest.fixture
def live(sandbox_url, seed) -> dict:
    return seed


def add(client, token, label="Charts", kind="metrics_api", apps=""):
    form = {"label": label, "kind": kind, "region": "sandbox", "token": token, "app_ids": apps}
    return client.post(reverse("token_list"), form)


def test_the_token_page_explains_the_two_kinds(client, alice):
    client.force_login(alice)
    html = client.get(reverse("token_list")).content.decode()
    assert "<strong>Custom Metrics API token</strong>: lists, creates and deletes" in html
    assert "<strong>Metrics API token</strong>: reads your metrics' numbers" in html
    assert 'name="kind" value="metrics_api"' in html


def test_a_metrics_api_token_is_checked_with_the_metrics_api_then_saved_without_apps(client, alice, live):
    client.force_login(alice)
    response = add(client, live["metrics_api_token"])
    assert response.status_code == 302
    token = ApiToken.objects.get(user=alice)
    assert (token.kind, token.region, token.app_ids) == ("metrics_api", "sandbox", [])
    assert encryption.decrypt(token.ciphertext) == live["metrics_api_token"]
    page = client.get(reverse("token_list")).content.decode()
    assert "Metrics API token</td>" in page and "All apps of its region (charts)" in page
    assert live["metrics_api_token"] not in page


def test_a_custom_metrics_token_offered_as_a_metrics_api_token_is_refused(client, alice, live):
    client.force_login(alice)
    html = add(client, live["token"]).content.decode()
    assert "Embrace refused this Metrics API token" in html and "the two kinds are different" in html
    assert not ApiToken.objects.exists()


def test_a_second_metrics_api_token_for_the_same_region_is_refused(client, alice, live):
    client.force_login(alice)
    add(client, live["metrics_api_token"])
    html = add(client, live["metrics_api_token"], label="Charts again").content.decode()
    assert "You already have a Metrics API token for this region" in html
    assert ApiToken.objects.count() == 1


def test_a_metrics_api_token_is_replaced_after_a_check_and_keeps_no_apps(client, alice, live):
    client.force_login(alice)
    add(client, live["metrics_api_token"])
    token = ApiToken.objects.get()
    url = reverse("token_replace", args=[token.pk])
    form = client.get(url).content.decode()
    assert "New Metrics API token" in form and 'name="app_ids"' not in form
    refused = client.post(url, {"token": live["token"]}).content.decode()
    assert "Embrace refused this Metrics API token" in refused
    token.refresh_from_db()
    assert encryption.decrypt(token.ciphertext) == live["metrics_api_token"]
    assert client.post(url, {"token": live["metrics_api_token"]}).status_code == 302
    token.refresh_from_db()
    assert token.kind == "metrics_api" and token.app_ids == []
