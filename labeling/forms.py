from __future__ import annotations

from django import forms
from django.conf import settings

from labeling.models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [
            "name",
            "slug",
            "rubric",
            "scale_min",
            "scale_max",
            "guardrail_text",
            "labels_per_item",
            "rationale_min_length",
        ]


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row, or JSON Lines (one object per line).")
    format = forms.ChoiceField(
        choices=[("", "From the file name"), ("csv", "CSV"), ("jsonl", "JSON Lines")], required=False
    )
    external_id = forms.CharField(
        required=False,
        initial="external_id",
        help_text='Column(s) holding the item id; join several with "+", e.g. query_id+doc_id.',
    )
    query = forms.CharField(required=False, initial="query")
    document = forms.CharField(required=False, initial="document")
    score = forms.CharField(required=False, help_text="Column with existing labels' grades (optional).")
    rationale = forms.CharField(required=False, help_text="Column with the labels' rationales (optional).")
    annotator = forms.CharField(required=False, help_text="Column with the annotator's username (optional).")
    labels_as = forms.CharField(
        required=False, help_text="Username that owns the labels when the file has no annotator column."
    )
    file_scale_min = forms.IntegerField(required=False, help_text="The file's lowest grade, if it differs.")
    file_scale_max = forms.IntegerField(required=False, help_text="The file's highest grade, if it differs.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            limit_mb = settings.IMPORT_MAX_BYTES // (1024 * 1024)
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; the limit is {limit_mb} MB."
            )
        return upload

    def clean(self):
        data = super().clean()
        low, high = data.get("file_scale_min"), data.get("file_scale_max")
        if (low is None) != (high is None):
            raise forms.ValidationError("Give both ends of the file's scale, or neither.")
        if low is not None and high <= low:
            raise forms.ValidationError("The file's highest grade must be above its lowest.")
        return data

    def import_options(self) -> dict:
        """The options as stored on the job (JSON), read back by the worker."""
        data = self.cleaned_data
        field_map = {
            name: data[name].strip()
            for name in ("external_id", "query", "document", "score", "rationale", "annotator")
            if data.get(name, "").strip()
        }
        file_scale = None
        if data.get("file_scale_min") is not None:
            file_scale = [data["file_scale_min"], data["file_scale_max"]]
        return {
            "format": data.get("format") or None,
            "field_map": field_map,
            "file_scale": file_scale,
            "labels_as": data.get("labels_as", "").strip() or None,
        }
