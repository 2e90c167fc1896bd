"""What the create page says and offers besides the form: the curl command and the outcome words."""

from __future__ import annotations

import json
import shlex

from metrics_ui.metrics import writes


def curl_command(base_url: str, app_id: str, body: dict) -> str:
    """The create as a curl command, the token left as ``$EMBRACE_TOKEN`` for the person to supply."""
    url = f"{base_url.rstrip('/')}/api/v1/app/{app_id}/custom-metrics"
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        '  -H "Authorization: Bearer $EMBRACE_TOKEN" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(body, separators=(',', ':')))}"
    )


def outcome_words(outcome: writes.Outcome, app_id: str) -> str:
    """The success message for an outcome that succeeded."""
    name = outcome.metric.name if outcome.metric else ""
    if outcome.kind == writes.CREATED:
        return f"Created {name} in {app_id}."
    if outcome.via == "duplicate":
        return f"{name} was created by your other submission a moment ago; it was not created twice."
    if outcome.via == "timeout":
        return f"Embrace was slow to answer, so we checked: {name} was created in {app_id}."
    return f"{name} already existed in {app_id} with exactly these settings; nothing changed."
