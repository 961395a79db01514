from __future__ import annotations

from django import forms

from judging.models import ModelEndpoint, PromptVersion
from optimizer.models import OptimizationRun
from optimizer.runs import default_base_version


class OptimizationRunForm(forms.Form):
    # Explicit initials: the first-render estimate reads them, and without them it priced "no algorithm"
    # (0 reflection calls) while the page showed GEPA selected.
    regime = forms.ChoiceField(
        choices=OptimizationRun.Regime.choices, initial=OptimizationRun.Regime.DISAGREEMENT
    )
    algorithm = forms.ChoiceField(
        choices=OptimizationRun.Algorithm.choices,
        initial=OptimizationRun.Algorithm.GEPA,
        help_text="The instruction-library regime always selects among vetted instructions.",
    )
    base_version = forms.ModelChoiceField(
        queryset=PromptVersion.objects.none(),
        label="Base prompt version",
        help_text="Starts at the production version, else the newest clean hand-written one.",
    )
    target_endpoint = forms.ModelChoiceField(queryset=ModelEndpoint.objects.all(), label="Target model")
    reflection_endpoint = forms.ModelChoiceField(
        queryset=ModelEndpoint.objects.all(), label="Reflection / proposal model"
    )
    max_metric_calls = forms.IntegerField(
        min_value=10,
        max_value=100_000,
        initial=300,
        label="Budget: metric calls",
        help_text="One metric call is one judgment of one train or dev item.",
    )
    max_dollars = forms.DecimalField(
        min_value=0, max_digits=10, decimal_places=4, required=False, label="Budget: dollars (hard stop)"
    )
    score_threshold = forms.FloatField(
        min_value=0,
        max_value=1,
        required=False,
        label="Stop early at dev score",
        help_text="Mean objective on the dev split, 0–1 (1 = every judgment equals gold).",
    )
    seed = forms.IntegerField(min_value=0, initial=0)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        versions = PromptVersion.objects.filter(project=project).select_related("target_model")
        self.fields["base_version"].queryset = versions
        self.fields["base_version"].label_from_instance = lambda v: (
            f"v{v.pk} · {v.target_model.name} · {v.status} · {v.origin}"
        )
        reflectors = ModelEndpoint.objects.filter(model="sim/reflector").first()
        if reflectors and not self.is_bound:
            self.fields["reflection_endpoint"].initial = reflectors.pk
        base = default_base_version(project=project)
        if base and not self.is_bound:
            self.fields["base_version"].initial = base.pk
            self.fields["target_endpoint"].initial = base.target_model_id
