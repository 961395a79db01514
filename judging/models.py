"""Model endpoints and the judge's prompt versions (per project and target model)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from labeling.models import Project

SIM_PREFIX = "sim/"


class ModelEndpoint(models.Model):
    """A named LLM. The API key is never stored: only the name of the environment variable holding it."""

    name = models.CharField(max_length=100, unique=True)
    model = models.CharField(
        max_length=200, help_text='A DSPy/LiteLLM model string, e.g. "openai/gpt-4.1-mini".'
    )
    api_base = models.URLField(blank=True)
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable that holds the API key."
    )
    temperature = models.FloatField(default=0.0, validators=[MinValueValidator(0.0)])
    max_tokens = models.PositiveIntegerField(default=1024)
    concurrency = models.PositiveSmallIntegerField(default=8, validators=[MinValueValidator(1)])
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    price_input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    price_output_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (simulator)" if self.is_simulator else self.name

    @property
    def is_simulator(self) -> bool:
        return self.model.startswith(SIM_PREFIX)


class PromptVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        CANDIDATE = "candidate"
        PRODUCTION = "production"
        ARCHIVED = "archived"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompt_versions")
    target_model = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="prompt_versions")
    instructions = models.TextField()
    demos = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    origin = models.CharField(max_length=100, default="hand-written")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "target_model"],
                condition=models.Q(status="production"),
                name="one_production_version_per_project_and_model",
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.pk} for {self.target_model.name} ({self.status})"
