from __future__ import annotations

from django import forms
from django.conf import settings

from judging.endpoint_rules import key_envs_allowed
from judging.models import JudgeRun, ModelEndpoint, PromptVersion


class ModelEndpointForm(forms.ModelForm):
    # Local servers (vLLM, Ollama) usually speak plain http on a private address.
    api_base = forms.URLField(required=False, assume_scheme="http", label="API base")

    class Meta:
        model = ModelEndpoint
        fields = [
            "name",
            "model",
            "api_base",
            "api_key_env",
            "temperature",
            "max_tokens",
            "concurrency",
            "requests_per_minute",
            "price_input_per_mtok",
            "price_output_per_mtok",
        ]
        labels = {
            "api_key_env": "API key variable",
            "max_tokens": "Max output tokens",
            "price_input_per_mtok": "Price per million input tokens ($)",
            "price_output_per_mtok": "Price per million output tokens ($)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = key_envs_allowed()
        self.fields["api_key_env"].help_text = (
            "The NAME of the environment variable that holds the key, never the key itself. This server "
            f"allows: {', '.join(allowed) if allowed else 'no key variable at all'} (FLYWHEEL_KEY_ENVS)."
        )
        hosts = settings.FLYWHEEL_ALLOWED_API_HOSTS
        self.fields["api_base"].help_text = (
            f"Allowed hosts: {', '.join(hosts)} (FLYWHEEL_ALLOWED_API_HOSTS)."
            if hosts
            else "Any host but Flywheel's own database and broker. Empty: the provider's own API."
        )

    def clean_api_key_env(self) -> str:
        name = self.cleaned_data["api_key_env"].strip()
        if name and not name.replace("_", "").isalnum():
            raise forms.ValidationError(
                "Give the name of an environment variable (letters, digits and _), not the key itself."
            )
        if len(name) > 60 or name.startswith(("sk-", "sk_")):
            raise forms.ValidationError(
                "That looks like a key. Store the key in an environment variable and give its name here."
            )
        return name


class JudgeRunForm(forms.Form):
    prompt_version = forms.ModelChoiceField(queryset=PromptVersion.objects.none())
    endpoint = forms.ModelChoiceField(queryset=ModelEndpoint.objects.all(), label="Model endpoint")
    item_set = forms.ChoiceField(choices=JudgeRun.ItemSet.choices, initial=JudgeRun.ItemSet.LABELED)
    force_fresh = forms.BooleanField(
        required=False, help_text="Call the model even where an identical judgment exists already."
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        versions = project.prompt_versions.select_related("target_model")
        self.fields["prompt_version"].queryset = versions
        first = versions.first()
        self.fields["prompt_version"].initial = first
        self.fields["prompt_version"].empty_label = None
        if first is not None:
            # The preselected version's own model, rather than a blank "---------" to pick first.
            self.fields["endpoint"].initial = first.target_model_id
        self.fields["prompt_version"].label_from_instance = lambda v: (
            f"v{v.pk} · {v.target_model.name} · {v.status} · {v.origin}"
        )
