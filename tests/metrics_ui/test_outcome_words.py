"""What the create page says when a create didn't succeed: one sentence per outcome, with the way out."""

from django.urls import reverse

from metrics_ui import upstream
from metrics_ui.metrics import writes as create_guard
from metrics_ui.metrics.wording import failed_create

APP = "appID1"
EXISTING = upstream.CustomMetric(
    custom_metric_id="m1", app_id=APP, name="sessions_v2", metric="sessions_total"
)


def test_a_name_taken_by_another_definition_links_to_it_and_offers_no_retry():
    words = failed_create(create_guard.Outcome(create_guard.CONFLICT, metric=EXISTING), APP)
    assert words.tone == "warning" and not words.retry
    (sentence,) = words.sentences
    assert "<strong>sessions_v2</strong> already exists in appID1" in sentence
    assert f'href="{reverse("metric_detail", args=[APP, "sessions_v2"])}"' in sentence


def test_a_refused_token_sends_the_person_to_the_tokens_page():
    outcome = create_guard.Outcome(create_guard.FAILED, error=upstream.Forbidden(status=403))
    words = failed_create(outcome, APP)
    assert not words.retry and f'href="{reverse("token_list")}"' in words.sentences[0]


def test_a_create_that_may_have_happened_says_so_and_retries_safely():
    outcome = create_guard.Outcome(create_guard.UNCONFIRMED, error=upstream.Unavailable(timed_out=True))
    words = failed_create(outcome, APP)
    assert words.retry and "trying again can't create it twice" in words.sentences[0]


def test_an_upstream_message_is_shown_as_text_never_as_markup():
    error = upstream.ServerError("<img src=x onerror=alert(1)> is down", status=503)
    words = failed_create(create_guard.Outcome(create_guard.FAILED, error=error), APP)
    assert words.retry and "<img" not in words.sentences[0] and "&lt;img" in words.sentences[0]
