"""Model endpoints and the judge's prompt versions (per project and target model)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from judging.endpoint_rules import endpoint_validate
from judging.sim.registry import REFLECTOR
from labeling.lifecycle import BackgroundRun
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

    def save(self, *args, **kwargs) -> None:
        # The form and the admin call clean() first; a direct call that skips them is refused here.
        endpoint_validate(api_key_env=self.api_key_env, api_base=self.api_base)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        endpoint_validate(api_key_env=self.api_key_env, api_base=self.api_base)

    @property
    def is_simulator(self) -> bool:
        return self.model.startswith(SIM_PREFIX)

    @property
    def has_prices(self) -> bool:
        return bool(self.price_input_per_mtok or self.price_output_per_mtok)

    def price_of(self, tokens_in: Decimal | int, tokens_out: Decimal | int) -> Decimal:
        """Dollars for a call of these token counts at the endpoint's own prices."""
        return (self.price_input_per_mtok * tokens_in + self.price_output_per_mtok * tokens_out) / Decimal(
            1_000_000
        )


def judge_endpoints() -> models.QuerySet[ModelEndpoint]:
    """Endpoints a prompt can be written for: every model but the sim reflector, which only proposes."""
    return ModelEndpoint.objects.exclude(model__in=[REFLECTOR, f"openai/{REFLECTOR}"])


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
    # The guardrails' findings on this prompt ([{"rule": "leakage", "detail": "…"}, …]); a flagged version
    # cannot be promoted. Empty for a clean or hand-written version.
    guardrail_flags = models.JSONField(default=list, blank=True)
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

    @property
    def is_flagged(self) -> bool:
        return bool(self.guardrail_flags)


class JudgeRun(BackgroundRun):
    """A prompt version × model endpoint × item set → judgments."""

    # A resumed run's stored metrics are forgotten; its finish stores them anew.
    COLUMNS_ON = {BackgroundRun.Status.QUEUED: {"metrics": None}}

    class ItemSet(models.TextChoices):
        TRAIN = "train", "train split"
        DEV = "dev", "dev split"
        TEST = "test", "test split"
        LABELED = "labeled", "all labeled items"
        UNLABELED = "unlabeled", "unlabeled items"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="judge_runs")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="judge_runs")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="judge_runs")
    item_set = models.CharField(max_length=10, choices=ItemSet.choices)
    force_fresh = models.BooleanField(
        default=False, help_text="Call the model even where a judgment can be reused."
    )
    total_items = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # A finished run's progress counters and metrics per split (with intervals), computed once by
    # judging.stored_metrics; empty while the run is active or once its judgments changed.
    metrics = models.JSONField(null=True, blank=True, editable=False)
    # Where a run not started from a page came from: "command line", "optimizer run #3".
    started_from = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"judge run #{self.pk} ({self.endpoint.name}, {self.item_set})"

    @property
    def started_by(self) -> str:
        """Who or what started the run, for the run list: "carol", "optimizer run #3", "carol (optimizer
        run #3)", "command line"; "—" for a run recorded before runs said where they came from."""
        if self.created_by and self.started_from:
            return f"{self.created_by} ({self.started_from})"
        return str(self.created_by or self.started_from or "—")


class Judgment(models.Model):
    """One item judged once. A malformed output has no score but keeps its raw text; a call that failed
    even after retries has an error kind instead, and a resume fills it in."""

    class ErrorKind(models.TextChoices):
        RATE_LIMIT = "rate_limit", "rate limited (429)"
        SERVER = "server", "server error (5xx)"
        TIMEOUT = "timeout", "timeout"
        BAD_RESPONSE = "bad_response", "unreadable response"
        OTHER = "other", "other error"

    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="judgments")
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="judgments")
    score = models.SmallIntegerField(null=True, blank=True)
    malformed = models.BooleanField(default=False)
    reasoning = models.TextField(blank=True)
    raw_output = models.TextField(blank=True)
    error_kind = models.CharField(max_length=12, choices=ErrorKind.choices, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    # What the judge did not see or did not finish: a document cut to the context budget, a reply cut
    # off at max_tokens. Shown with the judgment.
    note = models.TextField(blank=True)
    # Same prompt, model settings and item content give the same key; a later run may reuse the judgment.
    cache_key = models.CharField(max_length=64, db_index=True)
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "item"], name="one_judgment_per_run_and_item")]

    def __str__(self) -> str:
        return f"run {self.run_id} item {self.item_id}: {self.score}"

    @property
    def is_error(self) -> bool:
        return bool(self.error_kind)


# Promotion audit and API tokens (issue 7)


class PromotionLog(models.Model):
    """One promotion of a prompt version to production (a rollback is the promotion of an older version)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="promotions")
    target_model = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="promotions")
    version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="promotions")
    previous = models.ForeignKey(
        PromptVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="demotions"
    )
    is_rollback = models.BooleanField(default=False)
    # Test-split metrics as they stood at promotion time: {"version": {...}, "previous": {...} | None}.
    metrics = models.JSONField(default=dict)
    # Why the lead promoted a version that was worse than production, or not surely better, on test.
    reason = models.TextField(blank=True)
    promoted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    promoted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-promoted_at", "-id"]

    def __str__(self) -> str:
        action = "rollback to" if self.is_rollback else "promotion of"
        return f"{action} v{self.version_id} for {self.target_model.name}"


class ApiToken(models.Model):
    """A user's bearer token for the JSON API. Only a SHA-256 of the token is stored; the token itself is
    shown once, when it is created."""

    class Scope(models.TextChoices):
        PROMPTS_READ = "prompts:read", "prompts:read — read production prompts"
        METRICS_READ = "metrics:read", "metrics:read — read measured metrics"
        ITEMS_WRITE = "items:write", "items:write — import items and labels"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the token never expires.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class EndpointLease(models.Model):
    """Calls a worker may have in flight to an endpoint. Every chunk judging on the endpoint holds one,
    renewed every second, so the endpoint's concurrency bounds the calls of all workers together; the
    lease of a worker that died expires on its own."""

    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="leases")
    holder = models.CharField(max_length=100, unique=True)
    permits = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.holder}: {self.permits} calls to {self.endpoint.name}"


class ChunkLease(models.Model):
    """The items one chunk of a judge run is judging right now. A second delivery of the chunk (or a
    resume's new chunk) leaves them alone while the lease is renewed; once its worker dies the lease
    expires and another chunk takes the items over."""

    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="chunk_leases")
    holder = models.CharField(max_length=100, unique=True)
    item_ids = models.JSONField(default=list)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.holder}: {len(self.item_ids)} items of judge run #{self.run_id}"
