"""Disagreement bullets, their audit trail, and the project's instruction library."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from judging.models import JudgeRun, Judgment, ModelEndpoint, PromptVersion
from labeling.lifecycle import BackgroundRun
from labeling.models import Item, Project


class Bullet(models.Model):
    """One judge-vs-human disagreement written as a feedback string, curated by a reviewer.

    One bullet per (prompt version, endpoint, item): a rerun of the same prompt on the same model finds the
    same disagreements, so regenerating from it leaves the bullets (and the reviewers' work) as they are.
    A new prompt version gets its own bullets, which is how the list shrinks as the flywheel turns.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        APPROVED = "approved"
        REJECTED = "rejected"
        MERGED = "merged"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="bullets")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="bullets")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="bullets")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="bullets")
    # The run and judgment it came from; the numbers and text below are copies, so the bullet outlives them.
    judge_run = models.ForeignKey(
        JudgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="bullets"
    )
    judgment = models.ForeignKey(
        Judgment, null=True, blank=True, on_delete=models.SET_NULL, related_name="bullets"
    )
    gold = models.FloatField()
    judge_score = models.SmallIntegerField()
    delta = models.FloatField(help_text="judge − gold: above 0 the judge was too lenient.")
    human_rationale = models.TextField(blank=True)
    judge_reasoning = models.TextField(blank=True)
    generated_text = models.TextField(help_text="The feedback string as generated.")
    text = models.TextField(help_text="The feedback string as the reviewers left it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_bullets"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt_version", "endpoint", "item"], name="one_bullet_per_version_endpoint_item"
            )
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="bullet_project_status"),
            models.Index(fields=["prompt_version", "status"], name="bullet_version_status"),
        ]

    def __str__(self) -> str:
        return f"bullet #{self.pk} ({self.status}) on item {self.item_id}"

    @property
    def direction(self) -> str:
        return "too lenient" if self.delta > 0 else "too strict"


class Change(models.Model):
    """Who changed something, when, and what it looked like before and after: the audit trail's row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]


class BulletChange(Change):
    """Who changed a bullet, when, and what it looked like before and after."""

    class Action(models.TextChoices):
        CREATE = "create"
        EDIT = "edit"
        APPROVE = "approve"
        REJECT = "reject"
        REOPEN = "reopen"
        MERGE = "merge"
        PROMOTE = "promote"

    bullet = models.ForeignKey(Bullet, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)

    def __str__(self) -> str:
        return f"{self.action} of bullet {self.bullet_id} by {self.user}"


class LibraryInstruction(models.Model):
    """A vetted, general instruction line of a project, written by a reviewer; the constrained optimizer
    regime composes prompts only from the active ones, in position order."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="library_instructions")
    text = models.TextField()
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    origin_bullets = models.ManyToManyField(Bullet, blank=True, related_name="instructions")
    # The leakage guardrail's findings: [{"rule": "verbatim", "detail": "…"}, …]; empty when clean.
    guardrail_flags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "position", "id"]
        indexes = [models.Index(fields=["project", "position"], name="instruction_order")]

    def __str__(self) -> str:
        return f"{self.project}: {self.text[:60]}"

    @property
    def is_flagged(self) -> bool:
        return bool(self.guardrail_flags)


class InstructionChange(Change):
    """The audit trail of library instructions, shaped like BulletChange."""

    class Action(models.TextChoices):
        CREATE = "create"
        EDIT = "edit"
        MOVE = "move"
        ACTIVATE = "activate"
        DEACTIVATE = "deactivate"

    instruction = models.ForeignKey(LibraryInstruction, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)

    def __str__(self) -> str:
        return f"{self.action} of instruction {self.instruction_id} by {self.user}"


# dspy.GEPA's reflection_minibatch_size default; optimizer/search.py passes it explicitly.
GEPA_MINIBATCH = 3


class OptimizationRun(BackgroundRun):
    """A background search for a better judge prompt: algorithm × regime × base version × target model,
    within a budget of metric calls and dollars; its accepted candidates become prompt versions."""

    class Regime(models.TextChoices):
        DISAGREEMENT = "disagreement", "Disagreement minimization"
        CROSS_MODEL = "cross_model", "Cross-model adaptation"
        LIBRARY = "library", "Instruction-library composition"

    class Algorithm(models.TextChoices):
        GEPA = "gepa", "GEPA"
        MIPRO = "mipro", "MIPROv2"
        LIBRARY = "library", "Library selection"

    class StopReason(models.TextChoices):
        DONE = "done", "finished its budget of metric calls"
        THRESHOLD = "threshold", "reached the score threshold"
        DOLLAR_CAP = "dollar_cap", "hit the dollar budget"
        CANCELLED = "cancelled", "cancelled"
        CRASHED = "crashed", "crashed"

    COLUMNS_ON = {
        BackgroundRun.Status.QUEUED: {"stop_reason": ""},
        BackgroundRun.Status.CANCELLED: {"stop_reason": StopReason.CANCELLED},
        BackgroundRun.Status.INTERRUPTED: {"stop_reason": StopReason.CRASHED},
    }

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="optimization_runs")
    regime = models.CharField(max_length=12, choices=Regime.choices, default=Regime.DISAGREEMENT)
    algorithm = models.CharField(max_length=8, choices=Algorithm.choices, default=Algorithm.GEPA)
    base_version = models.ForeignKey(
        PromptVersion, on_delete=models.PROTECT, related_name="optimization_runs"
    )
    target_endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    reflection_endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    max_metric_calls = models.PositiveIntegerField(default=300)
    max_dollars = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    score_threshold = models.FloatField(null=True, blank=True)
    seed = models.PositiveIntegerField(default=0)
    estimate = models.JSONField(default=dict, blank=True)

    stop_reason = models.CharField(max_length=12, choices=StopReason.choices, blank=True)
    metric_calls_used = models.PositiveIntegerField(default=0)
    dollars_spent = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    base_dev_score = models.FloatField(null=True, blank=True)
    best_dev_score = models.FloatField(null=True, blank=True)
    # [[metric calls used, best dev score so far], …]: the progress chart.
    progress = models.JSONField(default=list, blank=True)
    best_version = models.ForeignKey(
        PromptVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    base_test_run = models.ForeignKey(
        JudgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    best_test_run = models.ForeignKey(
        JudgeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"optimization run #{self.pk} ({self.get_algorithm_display()}, {self.status})"

    @property
    def stop_reason_note(self) -> str:
        """Why the run stopped, in words, or "" when that would only repeat its status
        ("cancelled: cancelled")."""
        if self.stop_reason == self.StopReason.DONE and self.metric_calls_used < self.max_metric_calls:
            return self._budget_left_note()
        note = self.get_stop_reason_display() if self.stop_reason else ""
        return "" if note == self.status else note

    def _budget_left_note(self) -> str:
        """A search that ended short of its budget says why, not "finished its budget" at 206 of 300."""
        used, budget = f"{self.metric_calls_used:,}", f"{self.max_metric_calls:,}"
        if self.algorithm != self.Algorithm.GEPA:
            return f"finished its search in {used} of {budget} metric calls"
        # GEPA starts an iteration only when its worst case fits (optimizer/search.py run_gepa).
        next_step = GEPA_MINIBATCH * 2 + ((self.estimate or {}).get("dev_sample") or {}).get("size", 0)
        return (
            f"stopped at {used} of {budget} metric calls: another iteration could need {next_step:,} more, "
            f"over the budget"
        )


class OptimizationCandidate(models.Model):
    """A prompt the search accepted into its pool, with its score on the dev split; the prompt itself is
    a PromptVersion (status candidate, parent the run's base) carrying the guardrails' findings."""

    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="candidates")
    index = models.PositiveIntegerField(help_text="The search's own number for the candidate.")
    prompt_version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="+")
    dev_score = models.FloatField()
    metric_calls_at = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_candidate_per_run_index")]

    def __str__(self) -> str:
        return f"candidate {self.index} of run #{self.run_id} (dev {self.dev_score:.3f})"


class RejectedProposal(models.Model):
    """A proposal the guardrails rejected inside the search, before any judge call was spent on it: the
    reflection (or proposal) model wrote it, the run never evaluated it."""

    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="rejected_proposals")
    text = models.TextField()
    rule = models.CharField(max_length=60, help_text="The rules it broke, comma-separated.")
    detail = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"proposal rejected in run #{self.run_id} ({self.rule})"

    @property
    def text_start(self) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= 120 else text[:119] + "…"
