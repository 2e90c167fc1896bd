"""The create-body rules, as pure functions: what is refused, with which message, and what is stored."""

import pytest

from metrics_ui import catalog
from sandbox import validation
from tests.sandbox.cases import BAD_BODIES, VALID, body, cond, nested, where


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in BAD_BODIES], ids=[c for c, _, _ in BAD_BODIES]
)
def test_bad_body_is_refused_naming_the_field(body, field):
    """Each broken rule is refused with a message that names the offending field."""
    with pytest.raises(validation.Invalid) as caught:
        validation.validate_create(body)
    assert field in caught.value.message
    assert caught.value.message.strip()


def test_defaults_are_applied_when_fields_are_omitted():
    """Omitted optional fields get the documented defaults."""
    assert validation.validate_create(VALID) == {
        "name": "ok_metric",
        "metric": "sessions_total",
        "filters": {},
        "group_by": [],
        "time_granularity": ["hourly"],
        "data_destination": ["metrics_api"],
    }


@pytest.mark.parametrize("empty", [None, []])
def test_empty_granularity_and_destination_mean_the_defaults(empty):
    """ "If it is empty, hourly (metrics_api) is turned on": null and [] behave like omission."""
    stored = validation.validate_create(body(time_granularity=empty, data_destination=empty, group_by=empty))
    assert stored["time_granularity"] == ["hourly"]
    assert stored["data_destination"] == ["metrics_api"]
    assert stored["group_by"] == []


def test_the_documented_example_body_is_accepted_unchanged():
    """The documentation's create example is valid and stored as sent."""
    example = {
        "name": "sessions_total_v1",
        "metric": "sessions_total",
        "group_by": ["app_version"],
        "filters": {"op": "and", "children": [{"field_op": "eq", "key": "os_version", "val": "12"}]},
        "time_granularity": ["five_minute", "hourly"],
        "data_destination": ["metrics_api", "newrelic"],
    }
    assert validation.validate_create(example) == example


@pytest.mark.parametrize(
    "filters",
    [
        where(cond("has_anr", "eq", True)),
        where(cond("os_major_version", "in", [14, 15])),
        where(cond("os_major_version", "gt", 9), op="or"),
        where(
            cond("model", "nlike", "Pixel"),
            where(cond("country", "eq", "US"), cond("country", "eq", "CA"), op="or"),
        ),
        where(cond("session_property", "neq", {"property_key": "plan", "property_values": ["free"]})),
        nested(validation.MAX_FILTER_DEPTH),
        where(*[cond("os_major_version", "eq", i) for i in range(validation.MAX_CONDITIONS)]),
        where(cond("os_version", "eq", "1" * validation.MAX_TEXT_LENGTH)),
    ],
    ids=["boolean", "int in", "or root", "nested or", "property", "max depth", "max conditions", "max text"],
)
def test_valid_filter_trees_are_kept_as_sent(filters):
    """Trees within the limits, with values of the right types, are stored unchanged."""
    assert validation.validate_create(body(filters=filters))["filters"] == filters


def test_status_code_range_and_duration_bucket_are_accepted():
    """Ranges on status_code and whole-number bounds on duration_bucket are valid."""
    network = body(
        metric="network_requests_total",
        filters=where(cond("status_code", "eq", {"start": 400, "end": 499})),
        group_by=["status_code", "top_n_domain"],
    )
    assert validation.validate_create(network)["filters"]["children"][0]["val"] == {"start": 400, "end": 499}
    moments = body(metric="moments_total", filters=where(cond("duration_bucket", "lte", 999)))
    assert validation.validate_create(moments)["metric"] == "moments_total"


def test_dotted_property_group_bys_are_accepted_where_the_metric_has_them():
    """session_property.<key> groups sessions; log_property.<key> groups logs."""
    assert validation.validate_create(body(group_by=["session_property.city", "session_property.state"]))
    logs = body(metric="logs_total", group_by=["log_property.level"])
    assert validation.validate_create(logs)["group_by"] == ["log_property.level"]


def test_name_at_the_length_cap_is_accepted():
    """A name of exactly NAME_MAX_LENGTH characters is fine; one more is refused."""
    assert validation.validate_create(body(name="a" * catalog.NAME_MAX_LENGTH))


@pytest.mark.parametrize("metric", list(catalog.CATALOG))
def test_every_base_metric_accepts_its_own_group_bys_and_granularities(metric):
    """Whatever the parameters endpoint advertises for a metric, create accepts."""
    base = catalog.get(metric)
    group_by = [f"{g}.some_key" if g in catalog.PROPERTY_GROUP_BYS else g for g in base.group_by]
    stored = validation.validate_create(
        body(
            metric=metric,
            group_by=group_by,
            time_granularity=list(base.time_granularity),
            data_destination=list(base.data_destination),
        )
    )
    assert stored["group_by"] == group_by


def test_messages_name_the_allowed_choices():
    """A refused choice says what would have been accepted, so the user can fix it."""
    with pytest.raises(validation.Invalid) as caught:
        validation.validate_create(
            body(metric="network_requests_successful_total", time_granularity=["five_minute"])
        )
    assert "hourly, daily" in caught.value.message
    with pytest.raises(validation.Invalid) as caught:
        validation.validate_create(body(filters=where(cond("os_version", "like", "1"))))
    assert "eq, neq, in" in caught.value.message
