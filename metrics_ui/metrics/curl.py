"""The console's requests as curl commands a person can paste into a shell: the region's URL, the
token left as ``$EMBRACE_TOKEN`` for the shell to fill in (it is never shown), every other word
quoted for the shell."""

import json
import shlex
from urllib.parse import quote

TOKEN_PLACEHOLDER = "$EMBRACE_TOKEN"


def metrics_url(base_url: str, app_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/app/{quote(app_id, safe='')}/custom-metrics"


def command(url: str, *, method: str = "GET", body: dict | None = None) -> str:
    words = [
        "curl --fail-with-body" + (f" --request {method}" if method != "GET" else "") + f" {shlex.quote(url)}"
    ]
    # Double quotes, so the shell puts the token in.
    words.append(f'--header "Authorization: Bearer {TOKEN_PLACEHOLDER}"')
    if body is not None:
        words.append(f"--header {shlex.quote('Content-Type: application/json')}")
        words.append(f"--data {shlex.quote(json.dumps(body, separators=(',', ':')))}")
    return " \\\n  ".join(words)


def list_command(base_url: str, app_id: str) -> str:
    return command(metrics_url(base_url, app_id))


def create_command(base_url: str, app_id: str, body: dict) -> str:
    return command(metrics_url(base_url, app_id), method="POST", body=body)


def delete_command(base_url: str, app_id: str, name: str) -> str:
    return command(f"{metrics_url(base_url, app_id)}/{quote(name, safe='')}", method="DELETE")
