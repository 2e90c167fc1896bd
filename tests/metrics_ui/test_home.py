"""The home page: the user's apps with the number of metrics in each, over the live sandbox."""

import re

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from metrics_ui import upstream
from metrics_ui.models import ApiToken, User

KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.EMBRACE_TOKEN_KEYS = [KEY]


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice")


def save_token(user, plaintext, apps, label) -> ApiToken:
    token = ApiToken(user=user, label=label, region="sandbox")
    token.set_token(plaintext)
    token.save()
    token.set_apps(list(apps))
    return token


def row_of(html: str, app_id: str) -> str:
    """The table row of ``app_id`` on the home page."""
    match = re.search(rf"<tr>\s*<td><a href=\"[^\"]*\">{app_id}</a></td>.*?</tr>", html, re.S)
    assert match, f"no row for {app_id}"
    return match.group(0)


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_tokens_is_pointed_to_the_token_page(client, alice):
    client.force_login(alice)
    html = client.get(reverse("home")).content.decode()
    assert "Add your API token" in html
    assert reverse("token_list") in html


def test_home_lists_each_app_with_its_metric_count_and_a_link(client, alice, sandbox_url, seed):
    upstream.reset_breakers()
    save_token(alice, seed["token"], ["appID2", "appID1"], "Sandbox")
    expected = {app: len(upstream.Client(seed["token"]).list_metrics(app)) for app in ("appID1", "appID2")}
    client.force_login(alice)
    html = client.get(reverse("home")).content.decode()
    assert html.index(">appID1<") < html.index(">appID2<")
    for app_id, count in expected.items():
        row = row_of(html, app_id)
        assert reverse("metric_list", args=[app_id]) in row
        assert f"{count} metric" in row
    assert seed["token"] not in html


def test_a_failing_app_shows_its_own_problem_and_the_others_still_load(client, alice, sandbox_url, seed):
    upstream.reset_breakers()
    save_token(alice, seed["token"], ["appID1"], "Good")
    save_token(alice, "tok_not_a_real_token_0000", ["appID2"], "Revoked")
    count = len(upstream.Client(seed["token"]).list_metrics("appID1"))
    client.force_login(alice)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{count} metric" in row_of(html, "appID1")
    assert "Couldn't load:" not in row_of(html, "appID1")
    assert "Couldn't load:" in row_of(html, "appID2")
    assert reverse("token_list") in row_of(html, "appID2")


def test_an_unreadable_token_is_explained_on_home_without_breaking_the_page(client, alice, settings):
    token = save_token(alice, "tok_lost_key_token_0000", ["appID1"], "Lost key")
    settings.EMBRACE_TOKEN_KEYS = [Fernet.generate_key().decode()]
    client.force_login(alice)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your saved token for Lost key can no longer be read" in html
    assert reverse("token_replace", args=[token.pk]) in html
