"""What the create page says once a create has succeeded."""

from __future__ import annotations

from metrics_ui.metrics import writes


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
