"""Deleting a metric is confirmed by typing its name."""

from django import forms
from django.utils.html import format_html


class DeleteConfirmForm(forms.Form):
    """Confirm a delete by typing the metric's name exactly (case matters; surrounding spaces don't)."""

    confirm_name = forms.CharField(
        label="Type the metric's name to confirm",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}),
        error_messages={"required": "Type the metric's name to confirm that you want to delete it."},
    )

    def __init__(self, *args, metric_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.metric_name = metric_name
        self.fields["confirm_name"].label = format_html(
            'Type <strong class="typed-name">{}</strong> to confirm', metric_name
        )

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if typed != self.metric_name:
            raise forms.ValidationError(
                "That isn't the metric's name. Type “%(name)s” exactly, with the same upper and lower case.",
                code="mismatch",
                params={"name": self.metric_name},
            )
        return typed
