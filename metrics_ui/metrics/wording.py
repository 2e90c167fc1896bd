"""What the create page says about a create's outcome, in plain words, from the typed outcome.

The sentences for a failure may hold links (to the existing metric, the list, the tokens page), so
they come back already escaped and marked safe; the template only lays them out and adds the
"Try again" button.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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


@dataclass(frozen=True)
class Words:
    sentences: tuple[SafeString, ...]
    tone: str  # "warning" (nothing is wrong with what was typed) or "error"
    retry: bool  # whether trying the same create again makes sense


def failed_create(outcome: writes.Outcome, app_id: str) -> Words:
    """The paragraphs shown above the create form for an outcome that did not succeed."""
    kind, error = outcome.kind, outcome.error
    if kind == writes.CONFLICT:
        name = outcome.metric.name
        url = reverse("metric_detail", args=[app_id, name])
        sentences = [
            format_html(
                "A metric named <strong>{}</strong> already exists in {}, with different settings. "
                'Nothing was changed. <a href="{}">Open {}</a>, or choose another name below.',
                name,
                app_id,
                url,
                name,
            )
        ]
        if outcome.via == "timeout":
            sentences.append(
                mark_safe(  # constant text
                    "Embrace was slow to answer our create, so we looked: "
                    "the metric there is not the one you submitted."
                )
            )
        return Words(tuple(sentences), tone="warning", retry=False)
    if kind == writes.NOT_CREATED:
        text = mark_safe(  # constant text
            "Embrace didn't answer in time, so we checked: <strong>it was not created</strong>. "
            "Everything you entered is below."
        )
        return Words((text,), tone="error", retry=True)
    if kind == writes.UNCONFIRMED:
        text = format_html(
            "Embrace didn't answer in time, and we couldn't check whether the metric was created. "
            'Your definition is kept below. <a href="{}">Look for it in the list</a> before trying again; '
            "trying again can't create it twice.",
            reverse("metric_list", args=[app_id]),
        )
        return Words((text,), tone="error", retry=True)
    status = error.status if error is not None else None
    if status == 403:
        text = format_html(
            "Your Embrace token was refused for app {}. It may be wrong, expired, "
            "or not allowed for this app. "
            '<a href="{}">Update it on the tokens page</a>. Everything you entered is kept below.',
            app_id,
            reverse("token_list"),
        )
        return Words((text,), tone="error", retry=False)
    if status == 400:
        text = mark_safe(  # constant text
            "Embrace rejected this definition; its message is shown on the field it concerns. "
            "Everything you entered is kept below."
        )
        return Words((text,), tone="error", retry=False)
    message = error.message if error is not None else ""
    return Words((format_html("{} Nothing you entered is lost.", message),), tone="error", retry=True)
