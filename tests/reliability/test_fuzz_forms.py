"""Bad input everywhere: hypothesis posts to every console form and builder action.

Each form gets ``FUZZ_EXAMPLES`` generated requests (default 2,000; a longer run is documented in
docs/development.md: ``FUZZ_EXAMPLES=20000 bin/test tests/reliability/test_fuzz_forms.py``) made by a
signed-in editor through Django's test client. The requests carry random and missing field names, filter
paths nested hundreds of levels deep, unicode (control characters and NUL included), values up to
100,000 characters (under the body cap), and values that try to choose the upstream:
``base_url``/``region`` fields, ``Host`` and ``X-Forwarded-Host`` headers, and app ids or metric names
such as ``../x`` or ``appID1@evil``.

Whatever arrives, the console answers with a page or form (or a 4xx page for a request that is
malformed as HTTP: 400, 404, 405, 413; 429 would be the write limit, raised out of the way here), never
an unhandled exception (the test client re-raises those) or a 5xx. The upstream, a ``fault_upstream``
answering at once, only ever sees requests for its own host and for paths under
``/api/v1/app/<valid id>/custom-metrics``; a second server whose address the inputs keep offering as the
upstream never sees a request at all.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metrics_ui import filter_tree
from metrics_ui.metrics import builder
from metrics_ui.models import ApiToken

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database: CI runs are independent and nothing is written to the repo
    derandomize=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the signed-in client and servers are shared on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
ACCEPTABLE = {200, 302, 400, 404, 405, 413, 429}
APP = "appID1"
NAME = "sessions_by_version"
UPSTREAM_PATH = re.compile(
    r"/custom-metrics/api/v1/app/[A-Za-z0-9_-]{1,64}/custom-metrics(/[A-Za-z_][A-Za-z0-9_]*)?(\?[^#]*)?"
)
METRIC_JSON = {
    "custom_metric_id": "cm-1",
    "app_id": APP,
    "name": NAME,
    "metric": "sessions_total",
    "filters": {},
    "group_by": [],
    "time_granularity": ["hourly"],
    "data_destination": ["metrics_api"],
}

# --- strategies -------------------------------------------------------------------------------------------

EVIL = ["http://evil", "http://127.0.0.2:1/", "https://evil.example/custom-metrics", "//evil.example/x",
        "../x", "../../admin", "appID1@evil", "appID1/../x", "%2e%2e%2f", "appID1?x=1", "appID1#x", "a/b",
        "appID1\r\nHost: evil", "ａｐｐＩＤ１", "sandbox", "default", "eu", "us", "<script>alert(1)</script>",
        "' OR 1=1 --", "{{ 7*7 }}", "\x00", "", " "]  # fmt: skip
_characters = st.characters(exclude_categories=("Cs",))  # lone surrogates can't even be encoded as UTF-8
text = st.one_of(
    st.text(_characters, max_size=40),
    st.sampled_from(EVIL),
    st.builds(lambda c, n: c * n, st.text(_characters, min_size=1, max_size=3), st.integers(1000, 30_000)),
    st.integers(-(10**30), 10**30).map(str),
)
# gunicorn refuses request lines over 4,094 bytes before Django sees them, so query strings stay shorter.
query_text = st.one_of(
    st.text(_characters, max_size=40),
    st.sampled_from(EVIL),
    st.builds(lambda c, n: c * n, st.text(_characters, min_size=1, max_size=3), st.integers(100, 1300)),
)
path = st.lists(st.integers(0, 12_000).map(str), min_size=0, max_size=400).map(lambda p: ".".join(["0", *p]))
filter_field = st.builds(
    lambda p, f: f"filter-{p}-{f}", path, st.sampled_from([*filter_tree.FORM_FIELDS, "junk", ""])
)
verbs = st.sampled_from([*builder.TREE_ACTIONS, *builder.FORM_ACTIONS, "create", "", "x" * 500])
action = st.one_of(
    verbs,
    st.builds(lambda v, p: f"{v}:{p}", verbs, path),
    st.builds(lambda v, p, e: f"{v}:{p}:{e}", verbs, path, text),
    text,
)


HOST_FIELDS = ["base_url", "region", "host", "url", "upstream", "SANDBOX_BASE_URL", "app_id", "token"]


def form_data(known: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    """Some of the form's own fields (others missing), filter fields at any depth, random names, and
    fields that try to pick the upstream."""
    names = st.one_of(
        st.sampled_from(known),
        filter_field,
        st.text(_characters, min_size=1, max_size=30),
        st.sampled_from(
            ["base_url", "region", "host", "url", "upstream", "SANDBOX_BASE_URL", "app_id", "token"]
        ),
    )
    return st.dictionaries(names, st.lists(text, min_size=1, max_size=3), max_size=25)


headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_X_FORWARDED_HOST": st.sampled_from(["evil.example", "127.0.0.2:1", "testserver"]),
        "HTTP_HX_REQUEST": st.just("true"),
        "HTTP_HX_TARGET": st.sampled_from(
            ["section#filter-tree", "div#metric-table", "dialog#delete-dialog", "main#main", "body"]
            + ["metric-table", "x"]
        ),
        "HTTP_HX_BOOSTED": st.just("true"),
        "HTTP_X_REQUEST_ID": st.one_of(text, st.just("abc\nFAKE LOG LINE")),
        "HTTP_HOST": st.sampled_from(["evil.example", "127.0.0.2:1", "testserver"]),
    },
)


# --- fixtures and checks -----------------------------------------------------------------------------------


@pytest.fixture
def fuzz_client(signed_in_client, fault_upstream, fault_other_host, settings):
    """A signed-in editor; the sandbox region points at a fault server answering at once."""
    settings.WRITE_RATE_LIMIT = "1000000/m"  # the limit has its own tests; here every write gets through
    settings.UPSTREAM_READ_RETRIES = 0
    fault_upstream.json({"results": [METRIC_JSON]})
    signed_in_client.other_host = fault_other_host
    signed_in_client.upstream = fault_upstream
    return signed_in_client


def check(client, response) -> None:
    assert response.status_code in ACCEPTABLE, response.status_code
    if response.status_code == 200 and "HX-Redirect" not in response:
        assert response.content.strip(), "an empty page"
    upstream = client.upstream
    host = urlsplit(upstream.url).netloc
    for recorded in upstream.requests:
        assert recorded.headers.get("host") == host, recorded.headers.get("host")
        assert UPSTREAM_PATH.fullmatch(recorded.path), recorded.path
    upstream.clear()
    assert client.other_host.requests == []


def evil_values(client) -> st.SearchStrategy:
    """The other server's address, offered wherever a host could be picked."""
    return st.sampled_from([client.other_host.url, urlsplit(client.other_host.url).netloc])


def post(client, url: str, data: dict, extra: dict):
    return client.post(url, data, **extra)


# --- one test per form -------------------------------------------------------------------------------


def test_the_create_form_and_every_builder_action_survive_any_post(fuzz_client):
    url = reverse("metric_create", args=[APP])
    known = ["name", "metric", "built_for", "group_by", "time_granularity", "data_destination", "history",
             "json_import", "replaces", "_confirmed", "group_by_key_event_property",
             "group_by_key_session_property"]  # fmt: skip

    @FUZZ
    @given(data=form_data(known), act=action, extra=headers, evil=evil_values(fuzz_client))
    def fuzz(data, act, extra, evil):
        data = {**data, "action": [act], "base_url": [evil]}
        check(fuzz_client, post(fuzz_client, url, data, extra))

    fuzz()


QUERY_NAMES = ["q", "sort", "page", "name", "check_name", "region", "base_url", "copy_of", "replace", "x"]


def test_the_name_check_and_the_list_survive_any_query_string(fuzz_client):
    @FUZZ
    @given(
        params=st.dictionaries(st.sampled_from(QUERY_NAMES), query_text, max_size=6),
        target=st.sampled_from(["list", "create", "detail"]),
        extra=headers,
    )
    def fuzz(params, target, extra):
        if target == "list":
            url = reverse("metric_list", args=[APP])
        elif target == "create":
            url = reverse("metric_create", args=[APP])
            params.setdefault("check_name", "1")
        else:
            url = reverse("metric_detail", args=[APP, NAME])
        check(fuzz_client, fuzz_client.get(url, params, **extra))

    fuzz()


def test_delete_confirmation_survives_any_post_and_any_name_in_the_url(fuzz_client):
    @FUZZ
    # The URL's segments are bounded like query strings (gunicorn's request-line limit).
    @given(data=form_data(["confirm_name", "app_id", "name"]), name=st.one_of(st.just(NAME), query_text),
           app=st.one_of(st.just(APP), query_text), confirm=st.booleans(), extra=headers)  # fmt: skip
    def fuzz(data, name, app, confirm, extra):
        if name and "/" not in name and "\x00" not in name and name not in (".", ".."):
            url = f"/apps/{_segment(app)}/metrics/{_segment(name)}/delete/"
        else:
            url = reverse("metric_delete", args=[APP, NAME])
        if confirm:  # the typed name matches, so the delete really goes upstream
            data["confirm_name"] = [name]
        check(fuzz_client, post(fuzz_client, url, data, extra))

    fuzz()


def test_copy_to_other_apps_survives_any_post(fuzz_client):
    url = reverse("metric_copy", args=[APP, NAME])

    @FUZZ
    @given(
        data=form_data(["apps", "stage"]),
        apps=st.lists(st.one_of(st.sampled_from(["appID2", "appID3", APP]), text), max_size=5),
        stage=st.one_of(st.sampled_from(["check", "confirm", ""]), text),
        extra=headers,
    )
    def fuzz(data, apps, stage, extra):
        data = {**data, "apps": apps, "stage": [stage]}
        check(fuzz_client, post(fuzz_client, url, data, extra))

    fuzz()


def test_adding_a_token_survives_any_post(fuzz_client, demo_user):
    url = reverse("token_list")

    @FUZZ
    @given(
        data=form_data(["label", "region", "token", "app_ids"]), extra=headers, evil=evil_values(fuzz_client)
    )
    def fuzz(data, extra, evil):
        data.setdefault("region", [evil])
        check(fuzz_client, post(fuzz_client, url, data, extra))

    fuzz()


def test_replacing_and_removing_a_token_survive_any_post(fuzz_client, demo_user):
    @FUZZ
    @given(
        data=form_data(["token", "app_ids", "label", "region"]),
        remove=st.booleans(),
        pk=st.one_of(st.none(), st.integers(-5, 10**12)),
        extra=headers,
    )
    def fuzz(data, remove, pk, extra):
        token = ApiToken.objects.filter(user=demo_user).first() or _new_token(demo_user)
        pk = token.pk if pk is None else pk
        view = "token_delete" if remove else "token_replace"
        url = reverse(view, args=[pk]) if pk >= 0 else f"/tokens/{pk}/replace/"
        check(fuzz_client, post(fuzz_client, url, data, extra))

    fuzz()


def _new_token(user) -> ApiToken:
    token = ApiToken(user=user, label="Sandbox", region="sandbox")
    token.set_token("tok_fuzz_0123456789")
    token.save()
    token.set_apps([APP])
    return token


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="@:+,;=")
