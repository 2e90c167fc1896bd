"""The operator's commands: sandbox_seed (idempotent demo data) and sandbox_token (tokens and apps)."""

import hashlib
import json
import re
import shlex
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.models import App, CustomMetric, Organization, Token, TokenKind


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def state() -> dict:
    return {
        "orgs": sorted(Organization.objects.values_list("name", flat=True)),
        "apps": sorted(App.objects.values_list("app_id", "organization__name")),
        "tokens": list(Token.objects.values_list("digest", "revoked_at")),
        "metrics": list(
            CustomMetric.objects.values_list("custom_metric_id", "app__app_id", "name", "metric")
        ),
    }


@pytest.mark.django_db
def test_seed_json_prints_token_apps_and_the_other_app_last():
    """--json ends with one line {"token", "apps": ["appID1","appID2"], "other_app", "metrics_api_token"}."""
    printed = json.loads(run("sandbox_seed", "--json").strip().splitlines()[-1])
    assert set(printed) == {"token", "apps", "other_app", "metrics_api_token"}
    assert re.fullmatch(r"[0-9a-f]{32}", printed["token"])
    assert re.fullmatch(r"[0-9a-f]{32}", printed["metrics_api_token"])
    assert printed["metrics_api_token"] != printed["token"]
    assert printed["apps"] == ["appID1", "appID2"]
    other = App.objects.get(app_id=printed["other_app"])
    assert other.organization != App.objects.get(app_id="appID1").organization


@pytest.mark.django_db
def test_seed_is_idempotent():
    """Running the seed again changes nothing: same organizations, apps, token and metrics (same ids)."""
    run("sandbox_seed", "--json")
    first = state()
    run("sandbox_seed")
    run("sandbox_seed", "--json")
    assert state() == first
    assert 5 <= len(first["metrics"]) <= 8
    assert {m[3] for m in first["metrics"]} >= {"sessions_total", "crashes_total", "network_requests_total"}


@pytest.mark.django_db
def test_seed_restores_a_deleted_example_and_a_revoked_demo_token():
    """The seed puts the demo state back: a deleted example returns, a revoked demo token works again."""
    run("sandbox_seed", "--json")
    CustomMetric.objects.filter(name="sessions_total_v1").delete()
    for token in Token.objects.all():
        token.revoke()
    run("sandbox_seed", "--json")
    assert CustomMetric.objects.filter(app__app_id="appID1", name="sessions_total_v1").exists()
    assert [t.is_active for t in Token.objects.all()] == [True, True]


@pytest.mark.django_db
def test_seed_stores_only_a_digest_of_the_token():
    """The database holds the token's SHA-256 digest and its first/last 4 characters, never the token."""
    printed = json.loads(run("sandbox_seed", "--json").strip().splitlines()[-1])
    token = Token.objects.get(kind=TokenKind.CUSTOM_METRICS)
    assert token.digest == hashlib.sha256(printed["token"].encode()).hexdigest()
    stored = [str(v) for row in Token.objects.values_list() for v in row]
    assert printed["token"] not in stored and printed["metrics_api_token"] not in stored
    assert str(token) == f"{printed['token'][:4]}…{printed['token'][-4:]}"


def test_seed_summary_curl_example_works_when_pasted(live_server):
    """The plain seed output prints the token and a curl command that lists appID1's metrics."""
    output = run("sandbox_seed")
    assert "1b6be81cd01c4b08833295efadccafdc" in output
    command = " ".join(
        line.strip().rstrip("\\") for line in output.splitlines() if "curl" in line or "http" in line
    )
    words = shlex.split(command[command.index("curl") :])
    url = next(w for w in words if w.startswith("http://127.0.0.1:8000/"))
    header = words[words.index("-H") + 1]
    response = requests.get(
        url.replace("http://127.0.0.1:8000", live_server.url),
        headers=dict([header.split(": ", 1)]),
        timeout=10,
    )
    assert response.status_code == 200
    assert "sessions_total_v1" in [m["name"] for m in response.json()["results"]]


def test_minted_token_works_once_printed_and_stops_when_revoked(live_server):
    """mint prints a new token that manages its organization's apps; revoke <id> makes it answer 403."""
    run("sandbox_seed", "--json")
    output = run("sandbox_token", "mint", "--org", "Demo organization", "--label", "ci")
    raw = output.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", raw)
    url = f"{live_server.url}/custom-metrics/api/v1/app/appID2/custom-metrics"
    assert requests.get(url, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 200
    listing = run("sandbox_token", "list")
    assert raw not in listing
    assert f"{raw[:4]}…{raw[-4:]}" in listing and "ci" in listing
    token_id = Token.objects.get(prefix=raw[:4], last4=raw[-4:]).pk
    assert "Revoked" in run("sandbox_token", "revoke", str(token_id))
    assert requests.get(url, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 403
    assert "revoked" in run("sandbox_token", "list")
    assert "already revoked" in run("sandbox_token", "revoke", "--token", raw)


def test_new_organization_with_its_own_app_and_token(live_server):
    """add-app + mint for another organization: its token manages its app, and not the demo apps."""
    seeded = json.loads(run("sandbox_seed", "--json").strip().splitlines()[-1])
    assert "Added app acmeApp1" in run("sandbox_token", "add-app", "acmeApp1", "--org", "Acme")
    raw = run("sandbox_token", "mint", "--org", "Acme").strip().splitlines()[-1]
    base = f"{live_server.url}/custom-metrics/api/v1/app"
    acme = {"Authorization": f"Bearer {raw}"}
    demo = {"Authorization": f"Bearer {seeded['token']}"}
    assert requests.get(f"{base}/acmeApp1/custom-metrics", headers=acme, timeout=10).json() == {"results": []}
    assert requests.get(f"{base}/appID1/custom-metrics", headers=acme, timeout=10).status_code == 403
    assert requests.get(f"{base}/acmeApp1/custom-metrics", headers=demo, timeout=10).status_code == 403
    assert "acmeApp1" in run("sandbox_token", "apps", "--org", "Acme")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "999999"), "No such token"),
        (("revoke",), "Say which token"),
        (("add-app", "bad app id", "--org", "Acme"), "letters, digits"),
        (("add-app", "appID1", "--org", "Acme"), "already belongs"),
        (("mint", "--org", "  "), "can't be empty"),
    ],
)
def test_token_command_refuses_bad_requests_with_a_clear_message(args, message):
    """Unknown tokens, malformed app ids and apps of another organization are refused, saying why."""
    run("sandbox_seed", "--json")
    with pytest.raises(CommandError, match=message):
        call_command("sandbox_token", *args, stdout=StringIO())
