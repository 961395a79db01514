"""Forms of the prompt-version pages and the API token page."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

from judging.drafting import first_instructions
from judging.models import ApiToken, ModelEndpoint, PromptVersion, judge_endpoints
from judging.versions import demos_clean
from labeling.models import Project


class VersionDraftForm(forms.Form):
    """A hand-written version: an edit of a parent (same project and model), or a project's new version for
    a chosen model, whose text starts as a draft from the rubric and score meanings."""

    target_model = forms.ModelChoiceField(
        queryset=ModelEndpoint.objects.none(),
        help_text="The model this prompt is written for; each model has its own version history.",
    )
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="The guardrails check every version as it is saved: the scale, the output fields "
        "(reasoning, score), its length, and no text copied from training items.",
    )
    demos = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text='Few-shot demos as a JSON list: [{"query": …, "document": …, "reasoning": …, "score": …}].',
    )

    def __init__(self, *args, project: Project, parent: PromptVersion | None = None, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "instructions": parent.instructions if parent else first_instructions(project),
                "demos": json.dumps(parent.demos if parent else [], indent=2, ensure_ascii=False),
            },
        )
        super().__init__(*args, **kwargs)
        self.project = project
        self.parent = parent
        if parent is None:
            self.fields["target_model"].queryset = judge_endpoints()
        else:
            del self.fields["target_model"]

    def clean_demos(self) -> list[dict]:
        text = self.cleaned_data["demos"].strip()
        if not text:
            return []
        try:
            demos = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
        return demos_clean(project=self.project, demos=demos)


class VersionDiffForm(forms.Form):
    a = forms.ModelChoiceField(queryset=PromptVersion.objects.none(), label="From")
    b = forms.ModelChoiceField(queryset=PromptVersion.objects.none(), label="To")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        versions = project.prompt_versions.select_related("target_model")
        for name in ("a", "b"):
            self.fields[name].queryset = versions
            self.fields[name].label_from_instance = lambda v: (
                f"v{v.pk} · {v.target_model.name} · {v.status} · {v.origin}"
            )


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “ranking service”.")
    scopes = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[("", "never"), (30, "in 30 days"), (90, "in 90 days"), (365, "in a year")],
        coerce=int,
        empty_value=None,
        required=False,
        initial=90,
    )

    def __init__(self, *args, allowed_scopes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ApiToken.Scope.choices)
        self.fields["scopes"].choices = [(scope, labels[scope]) for scope in allowed_scopes]
