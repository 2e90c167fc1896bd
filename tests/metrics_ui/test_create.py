"""The create page over the live sandbox: the form, the builder's actions with and without HTMX, and
every outcome of submitting it (the input is always kept)."""

import re

from cryptography.fernet import Fernet
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from metrics_ui import filter_tree
from metrics_ui.metrics import form
from sandbox.models import CustomMetric
from tests.markup import has, value_of

HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("metric_create", args=["appID1"])


def post(client, data: dict, action: str, htmx: bool = False):
    return client.post(URL, {**data, "action": action}, **(HTMX if htmx else {}))


def tree_of(html: str) -> filter_tree.Group:
    """The tree the page shows, read back from its own form fields (what the next post will send)."""
    return filter_tree.from_form(form_fields(html))


def form_fields(html: str) -> dict:
    fields = dict(re.findall(r'<input[^>]*name="(filter-[0-9.]+-[a-z]+)" value="([^"]*)"', html))
    for name, selected in re.findall(
        r'<select[^>]*name="(filter-[0-9.]+-[a-z]+)"[^>]*>(.*?)</select>', html, re.S
    ):
        match = re.search(r'<option value="([^"]*)" selected>', selected)
        fields[name] = match.group(1) if match else ""
    for name, text in re.findall(
        r'<textarea[^>]*name="(filter-[0-9.]+-[a-z]+)"[^>]*>([^<]*)</textarea>', html
    ):
        fields[name] = text
    return fields


def base(**extra) -> dict:
    data = {"name": "sessions_by_version", "metric": "sessions_total", "built_for": "sessions_total",
            "time_granularity": ["hourly"], "data_destination": ["metrics_api"]}  # fmt: skip
    data.update(extra)
    return data


def with_tree(tree: filter_tree.Group, **extra) -> dict:
    return {**base(**extra), **filter_tree.to_form(tree)}


def test_the_empty_form_explains_the_name_rule_and_prechecks_hourly_and_metrics_api(signed_in_client):
    html = signed_in_client.get(URL).content.decode()
    assert "Letters, digits and underscores" in html
    assert has(html, "input", name="time_granularity", value="hourly", checked=True)
    assert has(html, "input", name="time_granularity", value="daily", checked=False)
    assert has(html, "input", name="data_destination", value="metrics_api", checked=True)
    assert "If you tick none, Embrace uses hourly" in html
    # Network request durations can't be counted every five minutes, so that box isn't offered.
    html = post(
        signed_in_client, base(metric="network_requests_successful_total"), "change_metric"
    ).content.decode()
    assert 'value="five_minute"' not in html and has(html, "input", value="hourly", checked=True)


def test_every_builder_action_gives_the_same_tree_with_and_without_htmx(signed_in_client):
    """Each action returns the filter fragment to HTMX and the whole page otherwise, with the same result."""
    start = filter_tree.Group("and", (
        filter_tree.Condition("app_version", "eq", "1.2"),
        filter_tree.Group("or", (filter_tree.Condition("os_version", "eq", "12"),
                                 filter_tree.Condition("os_version", "eq", "13"))),
    ))  # fmt: skip
    expected = {
        "add_condition:0": filter_tree.add_condition(start, ()),
        "add_group:0.1": filter_tree.add_group(start, (1,)),
        "remove:0.0": filter_tree.remove(start, (0,)),
        "confirm_remove:0.1": filter_tree.remove(start, (1,)),
        "clone:0.0": filter_tree.clone(start, (0,)),
        "down:0.0": filter_tree.move(start, (0,), 1),
        "up:0.1.1": filter_tree.move(start, (1, 1), -1),
        "connector:0.1:and": filter_tree.set_connector(start, (1,), "and"),
        "refresh": start,
    }
    for action, tree in expected.items():
        full = post(signed_in_client, with_tree(start), action)
        fragment = post(signed_in_client, with_tree(start), action, htmx=True)
        assert full.status_code == fragment.status_code == 200
        full_html, fragment_html = full.content.decode(), fragment.content.decode()
        assert "<html" in full_html and "<html" not in fragment_html, action
        assert tree_of(full_html) == tree, action
        if action.startswith("add_condition"):
            # Only the new row travels; HTMX appends it to the group and leaves the rest of the page.
            assert fragment["HX-Reswap"] == "none"
            assert fragment_html.startswith(
                '<ol hx-swap-oob="beforeend:#f-0-children"><li class="fcond" id="f-0.2">'
            )
            assert filter_tree.from_form({**filter_tree.to_form(start), **form_fields(fragment_html)}) == tree
            continue
        assert fragment_html.lstrip().startswith('<section id="filter-tree"'), action
        assert tree_of(fragment_html) == tree, action


def test_removing_a_group_with_conditions_asks_first_without_javascript(signed_in_client):
    start = filter_tree.Group(
        "and", (filter_tree.Group("or", (filter_tree.Condition("os_version", "eq", "12"),)),)
    )
    html = post(signed_in_client, with_tree(start), "remove:0.0").content.decode()
    assert "Remove group 1 and the 1 condition in it?" in html
    assert tree_of(html) == start
    # With HTMX the button carries hx-confirm, so the browser asked already.
    assert 'hx-confirm="Remove group 1 and the 1 condition in it?"' in html
    html = post(
        signed_in_client, {**with_tree(start), "_confirmed": "1"}, "remove:0.0", htmx=True
    ).content.decode()
    assert tree_of(html) == filter_tree.EMPTY


def test_undo_and_redo_walk_back_and_forth_through_builder_steps(signed_in_client):
    one = filter_tree.Group("and", (filter_tree.Condition("app_version", "eq", "1.2"),))
    html = post(signed_in_client, with_tree(one), "clone:0.0", htmx=True).content.decode()
    history = re.search(r'name="history" value="([^"]*)"', html).group(1)
    two = tree_of(html)
    assert len(two.children) == 2
    html = post(signed_in_client, {**with_tree(two), "history": history}, "undo", htmx=True).content.decode()
    assert tree_of(html) == one
    history = re.search(r'name="history" value="([^"]*)"', html).group(1)
    html = post(signed_in_client, {**with_tree(one), "history": history}, "redo").content.decode()
    assert tree_of(html) == two


def test_changing_the_base_metric_drops_conditions_it_cannot_use_and_says_which(signed_in_client):
    tree = filter_tree.Group("and", (
        filter_tree.Condition("has_anr", "eq", "yes"), filter_tree.Condition("app_version", "eq", "1.2"),
    ))  # fmt: skip
    data = with_tree(tree, metric="crashes_total", built_for="sessions_total")
    html = post(signed_in_client, data, "change_metric").content.decode()
    assert "these conditions were removed" in html and "“had an ANR”" in html
    assert tree_of(html) == filter_tree.Group("and", (filter_tree.Condition("app_version", "eq", "1.2"),))
    assert 'value="has_anr"' not in html  # the key picker offers only crash keys now
    assert 'value="tag_name"' in html


def test_choosing_a_key_offers_only_its_operators_and_its_value_editor(signed_in_client):
    tree = filter_tree.Group("and", (filter_tree.Condition("has_anr", "", ""),))
    html = post(signed_in_client, with_tree(tree), "refresh", htmx=True).content.decode()
    ops = re.search(r'name="filter-0.0-op"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\w+)"', ops) == ["eq"]
    assert 'name="filter-0.0-value"' in html and '<option value="yes"' in html


def test_pasting_json_fills_the_builder_and_bad_json_is_explained_and_kept(signed_in_client):
    pasted = '{"op": "and", "children": [{"field_op": "eq", "key": "os_version", "val": "12"}]}'
    html = post(signed_in_client, {**base(), "json_import": pasted}, "import_json").content.decode()
    assert tree_of(html) == filter_tree.Group("and", (filter_tree.Condition("os_version", "eq", "12"),))
    broken = '{"op": "and", "children": [}'
    html = post(signed_in_client, {**base(), "json_import": broken}, "import_json").content.decode()
    assert "This isn&#x27;t valid JSON: line 1" in html
    assert "{&quot;op&quot;: &quot;and&quot;, &quot;children&quot;: [}</textarea>" in html


def test_the_linter_offers_a_one_click_fix(signed_in_client):
    tree = filter_tree.Group("and", (
        filter_tree.Condition("os_version", "eq", "12"), filter_tree.Condition("os_version", "eq", "12"),
    ))  # fmt: skip
    html = post(signed_in_client, with_tree(tree), "refresh").content.decode()
    fix = re.search(r'name="action" value="(fix:[^"]+)"', html).group(1)
    html = post(signed_in_client, with_tree(tree), fix, htmx=True).content.decode()
    assert tree_of(html) == filter_tree.Group("and", (filter_tree.Condition("os_version", "eq", "12"),))


def test_the_json_view_and_curl_show_the_request_with_a_token_placeholder(signed_in_client):
    tree = filter_tree.Group("and", (filter_tree.Condition("os_major_version", "gt", "14"),))
    html = post(signed_in_client, with_tree(tree), "refresh").content.decode()
    assert "&quot;val&quot;: 14" in html
    assert "Bearer $EMBRACE_TOKEN" in html
    assert "Counts session count where OS major version is greater than 14." in html


def test_the_name_is_checked_as_it_is_typed(signed_in_client):
    check = lambda name: signed_in_client.get(URL, {"check_name": "1", "name": name}, **HTMX).content.decode()  # noqa: E731
    assert "is free" in check("brand_new_metric")
    assert "already exists in appID1" in check("sessions_total_v1")
    assert "can&#x27;t start with a digit" in check("1abc")
    assert "not -" in check("a-b")


def test_create_a_copy_prefills_the_form_from_the_metric(signed_in_client):
    html = signed_in_client.get(URL, {"copy_of": "crash_count_by_version"}).content.decode()
    assert value_of(html, "name") == "crash_count_by_version_copy"
    assert has(html, "option", value="crashes_total", selected=True)
    assert "OutOfMemory" in html  # the filter came along into the builder
    assert value_of(html, "replaces") == ""


def test_replace_prefills_a_free_versioned_name_and_then_offers_to_delete_the_old_one(signed_in_client):
    html = signed_in_client.get(URL, {"replace": "sessions_total_v1"}).content.decode()
    # sessions_total_v1 is taken, so is the next version if it exists; the name is the next free one.
    name = value_of(html, "name")
    assert name == "sessions_total_v2"
    assert value_of(html, "replaces") == "sessions_total_v1"
    data = {**form_fields(html), "name": name, "metric": "sessions_total", "built_for": "sessions_total",
            "time_granularity": ["hourly"], "replaces": "sessions_total_v1"}  # fmt: skip
    done = post(signed_in_client, data, "create").content.decode()
    assert "sessions_total_v2 is ready" in done
    assert reverse("metric_delete", args=["appID1", "sessions_total_v1"]) in done
    assert CustomMetric.objects.filter(app__app_id="appID1", name="sessions_total_v2").exists()


def test_the_next_free_name_skips_versions_already_taken():
    assert form.next_free_name("m", {"m", "m_v2", "m_v3"}) == "m_v4"
    assert form.next_free_name("m_v7", set()) == "m_v8"


def test_the_create_button_is_disabled_while_its_request_is_in_flight(signed_in_client):
    html = signed_in_client.get(URL).content.decode()
    assert re.search(
        r'<button type="submit" name="action" value="create" id="create-submit"[^>]*hx-disable="this"',
        html,
    )


def test_hostile_text_in_values_and_names_is_shown_as_text(signed_in_client):
    evil = '<img src=x onerror=alert(1) hx-get="/x">'
    tree = filter_tree.Group("and", (filter_tree.Condition("model", "eq", evil),))
    html = post(signed_in_client, with_tree(tree, name=evil), "refresh").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1) hx-get=&quot;/x&quot;&gt;" in html


def test_a_group_cannot_be_nested_past_the_documented_depth(signed_in_client):
    deepest = filter_tree.Condition("os_version", "eq", "12")
    for connector in ("or", "and", "or"):
        deepest = filter_tree.Group(connector, (deepest,))
    tree = filter_tree.Group("and", (deepest,))  # four levels of groups, the root included
    html = post(signed_in_client, with_tree(tree), "add_group:0.0.0.0", htmx=True).content.decode()
    assert "Groups can be nested at most 4 levels deep" in html
    assert tree_of(html) == tree
    assert 'value="add_group:0.0.0.0"' not in html  # the button isn't even offered there


def test_a_token_that_can_no_longer_be_read_sends_the_person_to_re_enter_it(signed_in_client, settings):
    settings.EMBRACE_TOKEN_KEYS = [Fernet.generate_key().decode()]  # the key changed: the token is unreadable
    response = signed_in_client.get(URL)
    assert response.status_code == 200
    assert "can no longer be read" in response.content.decode()


@settings_hypothesis(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    action=st.one_of(
        st.sampled_from(["add_condition", "add_group", "remove", "confirm_remove", "clone", "up", "down",
                         "connector", "fix", "undo", "redo", "refresh", "import_json", "change_metric"]),
        st.text(max_size=30),
    ),
    path=st.one_of(st.just("0"), st.just("0.0"), st.just("0.9.9"), st.text(max_size=12)),
    fields=st.dictionaries(st.from_regex(r"filter-0(\.[0-9]){0,3}-(node|connector|key|op|value|start|end|pkey)",
                                         fullmatch=True), st.text(max_size=40), max_size=8),
    extra=st.dictionaries(st.sampled_from(["history", "built_for", "metric", "json_import", "_confirmed"]),
                          st.text(max_size=60), max_size=4),
)  # fmt: skip
def test_any_builder_post_gets_a_page_never_a_server_error(signed_in_client, action, path, fields, extra):
    response = signed_in_client.post(URL, {**base(), **fields, **extra, "action": f"{action}:{path}"}, **HTMX)
    assert response.status_code == 200


PHISHING = "Your account is locked. Call 555-0100 to unlock it"


def test_a_copy_link_with_free_text_does_not_repeat_it_in_the_page(signed_in_client):
    """Anyone can craft a link; only a real metric name from it is ever shown back."""
    html = signed_in_client.get(URL, {"copy_of": PHISHING}).content.decode()
    assert "Your account is locked" not in html and "555-0100" not in html
    assert "The link named a metric that isn&#x27;t in appID1, so this form starts empty." in html
    html = signed_in_client.get(URL, {"replace": PHISHING}).content.decode()
    assert "Your account is locked" not in html


def test_a_copy_link_with_a_well_formed_missing_name_names_it(signed_in_client):
    html = signed_in_client.get(URL, {"copy_of": "no_such_metric"}).content.decode()
    assert "There is no metric named no_such_metric in appID1 to copy." in html
