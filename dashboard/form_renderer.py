"""The project's form renderer: Django's templates, with the console's own field template."""

from django.forms.renderers import TemplatesSetting


class ConsoleFormRenderer(TemplatesSetting):
    # Label, control, help and errors the way Pico styles them; see templates/forms/field.html.
    field_template_name = "forms/field.html"
