"""The one form layout every page uses: label above the field, help text below, errors beside it."""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class FlywheelFormRenderer(TemplatesSetting):
    """`{{ form }}` and `{{ form.field.as_field_group }}` render with templates/forms/, so a form page
    never lays out its own labels (TemplatesSetting so the project's templates/ folder is searched)."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
