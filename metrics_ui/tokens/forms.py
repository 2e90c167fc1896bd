"""Forms own validation, including what the upstream says about a value.

Token forms: the token field is write-only (``PasswordInput`` never renders a value, not even after
a validation error), and the token is checked against Embrace before anything is saved.
"""

import re

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from metrics_ui import upstream
from metrics_ui.models import ApiToken, ManagedApp

MAX_APPS_PER_TOKEN = 50
_APP_ID_SEPARATORS = re.compile(r"[\s,]+")
_CLEARED = "For your safety the token field is always emptied, so please paste the token again."


def _region_choices() -> list[tuple[str, str]]:
    return [
        (key, label)
        for key, label in upstream.REGIONS.items()
        if key != "sandbox" or settings.SANDBOX_ENABLED
    ]


def _joined(values: list[str]) -> str:
    return ", ".join(values[:-1]) + f" and {values[-1]}" if len(values) > 1 else values[0]


class TokenForm(forms.Form):
    """Add a token: a label, a region, the token itself and the app IDs it manages."""

    label = forms.CharField(
        max_length=100,
        help_text="A name you will recognise, e.g. “Production apps”.",
        error_messages={"required": "Give the token a name, e.g. “Production apps”."},
    )
    kind = forms.ChoiceField(
        label="Kind of token",
        choices=ApiToken.Kind.choices,
        initial=ApiToken.Kind.CUSTOM_METRICS,
        widget=forms.RadioSelect,
        required=False,  # a form posted without it (an older page, a script) adds a Custom Metrics token
        help_text="Both are in Embrace under Settings → Organization → API.",
        error_messages={"invalid_choice": "Choose one of the two kinds of token."},
    )
    region = forms.ChoiceField(
        help_text="Where your apps' data lives. Ask your Embrace contact if you are not sure.",
        error_messages={"invalid_choice": "Choose one of the regions in the list."},
    )
    token = forms.CharField(
        label="Embrace API token",
        min_length=8,
        max_length=upstream.TOKEN_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="It is stored encrypted and never shown again: only its last four characters are.",
        error_messages={
            "required": "Paste your Embrace API token.",
            "min_length": "This is too short to be an Embrace API token: check that you copied all of it.",
            "max_length": "This is too long to be an Embrace API token: check that you copied only it.",
        },
    )
    app_ids = forms.CharField(
        label="App IDs",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        required=False,
        help_text="The apps this token manages, separated by commas, spaces or new lines: appID1, appID2. "
        "Leave it empty for a Metrics API token, which reads every app of its region.",
        error_messages={"required": "List at least one app ID this token manages."},
    )

    def __init__(self, *args, user, instance: ApiToken | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.instance = instance
        if "region" in self.fields:
            self.fields["region"].choices = _region_choices()
            self.fields["region"].initial = "sandbox" if settings.SANDBOX_ENABLED else "default"

    def clean_label(self) -> str:
        label = self.cleaned_data["label"]
        others = ApiToken.objects.filter(user=self.user, label__iexact=label)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(
                "You already have a token with this name. Choose another name.", code="duplicate"
            )
        return label

    @sensitive_variables()
    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if not upstream.TOKEN_CHARACTERS.fullmatch(token):
            raise forms.ValidationError(
                "A token has no spaces, line breaks or accented characters: check that you copied "
                f"it exactly. {_CLEARED}",
                code="invalid",
            )
        return token

    def clean_app_ids(self) -> list[str]:
        if self.kind_key() == ApiToken.Kind.METRICS_API:
            return []  # a Metrics API token reads every app of its region; it manages none
        app_ids = list(dict.fromkeys(v for v in _APP_ID_SEPARATORS.split(self.cleaned_data["app_ids"]) if v))
        if not app_ids:
            raise forms.ValidationError(self.fields["app_ids"].error_messages["required"], code="required")
        bad = []
        for app_id in app_ids:
            try:
                upstream.validate_app_id(app_id)
            except upstream.InvalidInput:
                bad.append(app_id)
        if bad:
            raise forms.ValidationError(
                f"Not an app ID: {_joined(bad)}. An app ID uses only letters, digits, “-” and “_”, "
                "up to 64 characters.",
                code="invalid",
            )
        if len(app_ids) > MAX_APPS_PER_TOKEN:
            raise forms.ValidationError(
                f"One token can manage at most {MAX_APPS_PER_TOKEN} apps here; you listed {len(app_ids)}.",
                code="too_many",
            )
        taken = ManagedApp.objects.filter(token__user=self.user, app_id__in=app_ids).select_related("token")
        if self.instance is not None:
            taken = taken.exclude(token=self.instance)
        for managed in taken.order_by("app_id"):
            self.add_error(
                "app_ids",
                f"{managed.app_id} already belongs to your token “{managed.token.label}”. An app can "
                "belong to only one of your tokens: remove it there first, or leave it out here.",
            )
        return app_ids

    def region_key(self) -> str:
        return self.cleaned_data.get("region", "")

    def kind_key(self) -> str:
        return self.cleaned_data.get("kind", "")

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or ApiToken.Kind.CUSTOM_METRICS

    def clean_region(self) -> str:
        region = self.cleaned_data["region"]
        if self.kind_key() == ApiToken.Kind.METRICS_API:
            others = ApiToken.objects.filter(user=self.user, kind=ApiToken.Kind.METRICS_API, region=region)
            if others.exists():
                raise forms.ValidationError(
                    "You already have a Metrics API token for this region: use “Replace” on it in the "
                    "list above instead.",
                    code="duplicate",
                )
        return region

    # The plaintext token sits in these frames' locals: keep it out of error reports.
    @sensitive_variables()
    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors and self.kind_key() == ApiToken.Kind.METRICS_API:
            self._verify_metrics_api(cleaned["token"], self.region_key())
        elif not self.errors:
            self._verify(cleaned["token"], self.region_key(), cleaned["app_ids"])
        return cleaned

    @sensitive_variables()
    def _verify_metrics_api(self, token: str, region: str) -> None:
        """Ask Embrace's Metrics API for its series names with the token, before anything is saved."""
        try:
            upstream.MetricsApi(token, region).metric_names()
        except upstream.Forbidden:
            self.add_error(
                "token",
                "Embrace refused this Metrics API token: it may be mistyped, expired, or a Custom Metrics "
                "API token (the two kinds are different).",
            )
        except upstream.UpstreamError as exc:
            self.add_error(None, f"{exc.message} Nothing was saved. {_CLEARED}")

    @sensitive_variables()
    def _verify(self, token: str, region: str, app_ids: list[str]) -> None:
        """Ask Embrace whether the token may read each app, before anything is saved."""
        client = upstream.Client(token, region)
        refused, unknown = [], []
        for app_id in app_ids:
            try:
                client.list_metrics(app_id)
            except upstream.Forbidden:
                refused.append(app_id)
            except (upstream.NotFound, upstream.Rejected):
                unknown.append(app_id)
            except upstream.UpstreamError as exc:
                # Unavailable, server error, bad response, open breaker: nothing can be concluded.
                self.add_error(None, f"{exc.message} Nothing was saved. {_CLEARED}")
                return
        if refused:
            where = "app" if len(refused) == 1 else "apps"
            field = "token" if len(refused) == len(app_ids) else "app_ids"
            self.add_error(
                field,
                f"Embrace refused this token for {where} {_joined(refused)}: it may be mistyped, "
                f"expired, or not allowed for that {where}.",
            )
        if unknown:
            self.add_error(
                "app_ids", f"Embrace does not know {_joined(unknown)}: check the app ID for typos."
            )

    @sensitive_variables()
    def save(self) -> ApiToken | None:
        """Save the verified token and its apps; ``None`` (with a form error) if a concurrent change won."""
        token = self.instance or ApiToken(user=self.user)
        if "label" in self.fields:
            token.label = self.cleaned_data["label"]
            token.region = self.cleaned_data["region"]
            token.kind = self.cleaned_data["kind"]
        token.set_token(self.cleaned_data["token"])
        try:
            with transaction.atomic():
                token.save()
                token.set_apps(self.cleaned_data.get("app_ids", []))
        except IntegrityError:
            self.add_error(
                None,
                "Another change to your tokens was saved at the same moment, so nothing was saved here. "
                f"Check the list of tokens, then try again. {_CLEARED}",
            )
            return None
        return token


class TokenReplaceForm(TokenForm):
    """Replace a token's value (re-verified); the label and region stay, the app list may change."""

    def __init__(self, *args, instance: ApiToken, **kwargs):
        kwargs.setdefault("initial", {"app_ids": "\n".join(instance.app_ids)})
        super().__init__(*args, instance=instance, **kwargs)
        del self.fields["label"]
        del self.fields["region"]
        del self.fields["kind"]
        if instance.is_metrics_api:
            del self.fields["app_ids"]
        self.fields["token"].label = f"New {instance.get_kind_display()}"

    def region_key(self) -> str:
        return self.instance.region

    def kind_key(self) -> str:
        return self.instance.kind
