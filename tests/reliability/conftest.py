"""Reliability tests reuse the signed-in editor of the metric pages (``tests/metrics_ui/conftest.py``):
``make_user``, ``demo_user`` and ``signed_in_client``, whose token has region "sandbox", so pointing the
sandbox at a fault server (``fault_upstream``, ``fault_proxy``) puts every upstream call through it."""

import pytest

from tests.metrics_ui.conftest import demo_user, make_user, signed_in_client  # noqa: F401


@pytest.fixture(autouse=True)
def _cheap_passwords(settings):
    # The real hasher costs about a second per user here; these tests are about the upstream, not passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
