"""From a signed-in user to an upstream client: which apps they may open, and with which token.

This is the only module that decrypts a stored token, immediately before building the client; the
plaintext is never put in a template context, session, cache, message, URL or log record.
A user only ever reaches their own tokens: an app that none of *their* tokens manages is a 404,
whether or not another user manages it, so the answer reveals nothing about other users.

Views handle ``TokenUnreadable`` like an upstream failure, never with a 500: it carries ``message``
(plain words naming the token) and ``url`` (where to enter it again), which
``metrics_ui.ops.errors.problem`` turns into the usual banner.
"""

from dataclasses import dataclass

from django.core.management.base import CommandError
from django.http import Http404
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from metrics_ui import upstream
from metrics_ui.models import ApiToken, ManagedApp, User
from metrics_ui.tokens import encryption


@dataclass(frozen=True)
class AppRef:
    app_id: str
    token_id: int
    token_label: str
    region: str


class TokenUnreadable(encryption.TokenUnreadable):
    """A stored token can no longer be decrypted (the key list changed): the user must re-enter it."""

    def __init__(self, token: ApiToken):
        self.token_id = token.pk
        self.token_label = token.label
        self.message = (
            f"Your saved token for {token.label} can no longer be read (the encryption key changed). "
            "Please enter it again."
        )
        self.url = reverse("token_replace", args=[token.pk])
        super().__init__(self.message)


def user_apps(user) -> list[AppRef]:
    """The apps the user's own tokens manage, sorted by app ID."""
    if not user.is_authenticated:
        return []
    rows = ManagedApp.objects.filter(token__user=user).select_related("token").order_by("app_id")
    return [AppRef(row.app_id, row.token_id, row.token.label, row.token.region) for row in rows]


def token_apps(token: ApiToken) -> list[str]:
    """The app IDs ``token`` manages, sorted."""
    return sorted(token.apps.values_list("app_id", flat=True))


def client_for(user, app_id: str) -> upstream.Client:
    """A client for ``app_id`` using the user's own token for it.

    Raises ``Http404`` when none of the user's tokens manages ``app_id``, and ``TokenUnreadable``
    when that token can no longer be decrypted.
    """
    if not user.is_authenticated:
        raise Http404
    managed = ManagedApp.objects.filter(token__user=user, app_id=app_id).select_related("token").first()
    if managed is None:
        raise Http404
    return client_for_token(managed.token)


def has_metrics_api(user, region: str) -> bool:
    """Whether the user has a Metrics API token for ``region`` (nothing is decrypted)."""
    return ApiToken.objects.filter(user=user, kind=ApiToken.Kind.METRICS_API, region=region).exists()


def metrics_api_for(user, app_id: str) -> upstream.MetricsApi | None:
    """A Metrics API client in the region of the user's token for ``app_id``, or None when the user has
    no Metrics API token there. Http404 when none of their tokens manages ``app_id``;
    ``TokenUnreadable`` when the Metrics API token can no longer be decrypted."""
    if not user.is_authenticated:
        raise Http404
    managed = ManagedApp.objects.filter(token__user=user, app_id=app_id).select_related("token").first()
    if managed is None:
        raise Http404
    token = ApiToken.objects.filter(
        user=user, kind=ApiToken.Kind.METRICS_API, region=managed.token.region
    ).first()
    return None if token is None else client_for_token(token, upstream.MetricsApi)


@sensitive_variables("plaintext")
def client_for_token(
    token: ApiToken, kind: type[upstream.Client] | type[upstream.MetricsApi] = upstream.Client
):
    """A client (Custom Metrics by default) that sends ``token`` (already checked to belong to the
    caller) to its region."""
    try:
        plaintext = encryption.decrypt(token.ciphertext)
    except encryption.TokenUnreadable:
        raise TokenUnreadable(token) from None
    return kind(plaintext, token.region)


@sensitive_variables("plaintext")
def token_matches(token: ApiToken, plaintext: str) -> bool:
    """Whether ``token`` holds ``plaintext`` (False when it can no longer be decrypted)."""
    try:
        return encryption.decrypt(token.ciphertext) == plaintext
    except encryption.TokenUnreadable:
        return False


def command_client(username: str, app_id: str, token_label: str = "") -> tuple:
    """For management commands: the console user named ``username`` and a client with their stored
    token for ``app_id`` (the one labelled ``token_label`` if given). Raises ``CommandError``."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"There is no active console user named {username}.")
    tokens = ApiToken.objects.filter(user=user, apps__app_id=app_id)
    if token_label:
        tokens = ApiToken.objects.filter(user=user, label=token_label)
    token = tokens.first()
    if token is None:
        which = f"labelled {token_label}" if token_label else f"managing {app_id}"
        raise CommandError(f"{username} has no stored token {which}.")
    try:
        return user, client_for_token(token)
    except TokenUnreadable as error:
        raise CommandError(error.message) from None
