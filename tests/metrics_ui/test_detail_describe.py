"""How a stored metric is put into words and into Metrics API terms (no upstream needed)."""

from metrics_ui.metrics import curl, describe
from metrics_ui.upstream import CustomMetric


def metric(**fields) -> CustomMetric:
    return CustomMetric(
        **{
            "custom_metric_id": "abc1234",
            "app_id": "appID1",
            "name": "m",
            "metric": "sessions_total",
            **fields,
        }
    )


def test_a_metric_without_filters_says_everything_is_counted():
    assert describe.summary(metric(filters={})).filters == "No filters: everything is counted."
    assert describe.summary(metric(filters={"op": "and", "children": []})).filters.startswith("No filters")


def test_a_filter_tree_the_console_cannot_read_points_to_the_stored_definition():
    row = describe.summary(metric(filters={"op": "xor", "children": "nonsense"}))
    assert "can't put into words" in row.filters and "stored definition" in row.filters


def test_an_unknown_base_metric_is_shown_by_its_api_name():
    assert describe.summary(metric(metric="brand_new_total")).base_metric == "brand_new_total"


def test_a_metric_with_only_daily_data_gets_a_daily_query():
    daily = metric(name="x", time_granularity=("daily",))
    assert describe.promql(daily) == 'sum(daily_x{app_id="appID1"})'
    assert [s.name for s in describe.series(daily)] == ["daily_x"]


def test_property_keys_that_are_not_plain_label_names_are_quoted_in_promql():
    odd = metric(name="x", group_by=("session_property.user-tier", "country"))
    assert describe.series(odd)[0].labels == ("app_id", "user-tier", "country")
    assert describe.promql(odd) == 'sum by ("user-tier", country) (hourly_x{app_id="appID1"})'


def test_a_metric_not_sent_to_the_metrics_api_says_so():
    assert describe.describe(metric(data_destination=("datadog",))).in_metrics_api is False
    assert describe.describe(metric()).in_metrics_api is True


def test_curl_commands_use_the_region_url_and_never_a_token():
    base = "https://api-eu1.embrace.io/custom-metrics"
    assert curl.list_command(base, "app1").startswith(
        "curl --fail-with-body https://api-eu1.embrace.io/custom-metrics/api/v1/app/app1/custom-metrics \\\n"
    )
    delete = curl.delete_command(base, "app1", "my_metric")
    assert (
        "--request DELETE https://api-eu1.embrace.io/custom-metrics/api/v1/app/app1/custom-metrics/my_metric"
        in delete
    )
    assert delete.endswith('--header "Authorization: Bearer $EMBRACE_TOKEN"')
