from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError

from labeling.models import Item, Membership, Project
from labeling.scale import scale_labels_parse, scale_labels_text
from labeling.services import item_adjudicate_clean, label_clean

# A label's time on item is measured from a signed stamp the labeling page carries, so it costs no
# query and cannot be forged; longer than this is a tab left open, not time spent.
_SHOWN_SALT = "labeling.shown"
_MAX_SECONDS_ON_ITEM = 3600


SCALE_LABELS_HELP = (
    'What each score means, separated by ";": "0=not relevant; 3=perfectly relevant" (line breaks are '
    "read as spaces, so a long meaning may wrap). "
    "Annotators see them beside the scale, and a first prompt is drafted from them."
)


class _ScaleLabelsField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Score meanings")
        kwargs.setdefault("help_text", SCALE_LABELS_HELP)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 5}))
        super().__init__(**kwargs)


class ProjectForm(forms.ModelForm):
    score_meanings = _ScaleLabelsField()
    field_order = ["name", "slug", "rubric", "scale_min", "scale_max", "score_meanings"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        project = self.instance
        if project.pk:
            self.initial.setdefault(
                "score_meanings",
                scale_labels_text(
                    project.scale_descriptions, scale_min=project.scale_min, scale_max=project.scale_max
                ),
            )

    def clean(self):
        data = super().clean()
        low, high = data.get("scale_min"), data.get("scale_max")
        if low is not None and high is not None and high > low:
            try:
                self.instance.scale_descriptions = scale_labels_parse(
                    data.get("score_meanings", ""), scale_min=low, scale_max=high
                )
            except ValidationError as error:
                self.add_error("score_meanings", error)
        return data

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
            "adjudication_spread",
            "queue_order",
        ]


class MembershipForm(forms.Form):
    """A project's lead adds a user, changes their role or takes them out."""

    REMOVE = "remove"

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(
        choices=[*Membership.Role.choices, (REMOVE, "Remove from the project")],
        initial=Membership.Role.ANNOTATOR,
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ValidationError(f"No active user is called {username!r}.")
        return user


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
    scale_labels = _ScaleLabelsField(
        help_text=SCALE_LABELS_HELP + " Left empty, the project keeps the meanings it has."
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["scale_labels"].initial = scale_labels_text(
            project.scale_descriptions, scale_min=project.scale_min, scale_max=project.scale_max
        )

    def clean_scale_labels(self) -> dict[str, str]:
        return scale_labels_parse(
            self.cleaned_data.get("scale_labels", ""),
            scale_min=self.project.scale_min,
            scale_max=self.project.scale_max,
        )

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
            "scale_labels": data.get("scale_labels") or None,
        }


def shown_stamp(item: Item) -> str:
    """The value of a labeling form's `shown` field: which item was shown, and when."""
    return signing.Signer(salt=_SHOWN_SALT).sign_object({"item": item.pk, "at": round(time.time(), 1)})


class _ScoreForm(forms.Form):
    """A score on the project's scale and a text, checked by one rule of labeling.services."""

    score = forms.IntegerField(required=False)
    text_field = ""

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def rule(self, score: int | None, text: str) -> tuple[int, str]:
        raise NotImplementedError

    def clean(self) -> dict:
        data = super().clean()
        if "score" in self.errors:
            return data
        try:
            data["score"], data[self.text_field] = self.rule(data.get("score"), data.get(self.text_field, ""))
        except ValidationError as error:
            self.add_error(None, error)
        return data

    def selected_score(self) -> int | None:
        """The score to show as chosen when the form comes back with errors."""
        try:
            return int(self["score"].value())
        except (TypeError, ValueError):
            return None


class LabelForm(_ScoreForm):
    rationale = forms.CharField(required=False, strip=False)
    shown = forms.CharField(required=False)
    text_field = "rationale"

    def __init__(self, *args, project: Project, item: Item | None = None, **kwargs):
        super().__init__(*args, project=project, **kwargs)
        self.item = item

    def rule(self, score: int | None, text: str) -> tuple[int, str]:
        return label_clean(project=self.project, score=score, rationale=text)

    def clean_shown(self) -> float | None:
        """Seconds since the item was shown, or None when the stamp is missing or not for this item."""
        try:
            stamp = signing.Signer(salt=_SHOWN_SALT).unsign_object(self.cleaned_data.get("shown") or "")
        except (signing.BadSignature, ValueError, TypeError):
            return None
        if self.item is None or stamp.get("item") != self.item.pk:
            return None
        seconds = time.time() - float(stamp.get("at", 0))
        return round(seconds, 1) if 0 <= seconds <= _MAX_SECONDS_ON_ITEM else None


class AdjudicationForm(_ScoreForm):
    note = forms.CharField(required=False)
    text_field = "note"

    def rule(self, score: int | None, text: str) -> tuple[int, str]:
        return item_adjudicate_clean(project=self.project, score=score, note=text)
