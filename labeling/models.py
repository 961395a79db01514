"""Projects (rubric + scale), their items and the human labels on them."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from labeling.lifecycle import BackgroundRun

SPLITS = ("train", "dev", "test")


def split_for(external_id: str) -> str:
    """A stable split from the external id alone, so a re-import keeps every item where it was.

    70% train, 15% dev, 15% test.
    """
    bucket = int.from_bytes(hashlib.sha256(external_id.encode("utf-8")).digest()[:8], "big") % 100
    if bucket < 70:
        return "train"
    if bucket < 85:
        return "dev"
    return "test"


# Columns the database triggers keep (labeling/counters.py, migration 0008_gold_revision). A save() of an
# instance loaded earlier would write back the value it was loaded with, undoing every label given since.
COUNTER_FIELDS = frozenset({"items_open", "label_count", "labels", "labels_on_open_items", "gold_revision"})


def _leave_counters_alone(instance: models.Model, save_kwargs: dict) -> None:
    if instance._state.adding or save_kwargs.get("force_insert") or save_kwargs.get("update_fields"):
        return
    save_kwargs["update_fields"] = [
        field.name
        for field in instance._meta.concrete_fields
        if not field.primary_key and field.name not in COUNTER_FIELDS
    ]


class Project(models.Model):
    class QueueOrder(models.TextChoices):
        ID = "id", "Item order"
        DISAGREEMENT = "disagreement", "Most likely disagreement first (from the judge's runs)"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    rubric = models.TextField(help_text="What the judge and the annotators score, in words.")
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)
    scale_descriptions = models.JSONField(
        default=dict, blank=True, help_text='What each point of the scale means: {"1": "…", "2": "…"}.'
    )
    guardrail_text = models.TextField(
        blank=True,
        default=(
            "Keep the scale and the output format exactly as they are. Never copy example-specific "
            "keywords, user names or verbatim document phrases into the prompt."
        ),
    )
    labels_per_item = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="How many annotators label each item."
    )
    rationale_min_length = models.PositiveSmallIntegerField(default=20)
    adjudication_spread = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="Items whose labels lie this many points apart or more go to a reviewer.",
    )
    queue_order = models.CharField(
        max_length=12,
        choices=QueueOrder.choices,
        default=QueueOrder.ID,
        help_text=(
            "Which unlabeled items annotators see first. Once judge runs exist, “most likely disagreement” "
            "puts first the items whose judgments disagree with each other or came out malformed."
        ),
    )
    # Items short of labels_per_item: kept by the database's label and item triggers (see
    # labeling/counters.py), never by save().
    items_open = models.PositiveIntegerField(default=0, editable=False)
    # Goes up in the statement that changes any item's gold (a label added, edited, moved or removed; an
    # adjudication): kept by the database's triggers (migration 0008_gold_revision), never by save(). Stored
    # figures computed at an older revision are stale (judging.stored_metrics).
    gold_revision = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scale_max__gt=models.F("scale_min")), name="scale_not_empty"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        _leave_counters_alone(self, kwargs)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("labeling:project", args=[self.slug])

    @property
    def scale_points(self) -> list[int]:
        return list(range(self.scale_min, self.scale_max + 1))

    def scale_rows(self) -> list[tuple[int, str]]:
        return [(point, self.scale_descriptions.get(str(point), "")) for point in self.scale_points]

    def clean(self) -> None:
        if self.scale_min is not None and self.scale_max is not None and self.scale_max <= self.scale_min:
            raise ValidationError({"scale_max": "The top of the scale must be above its bottom."})


class Item(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255)
    query = models.TextField()
    document = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    split = models.CharField(max_length=5, choices=[(s, s) for s in SPLITS], db_index=True)
    # The reviewer's adjudicated score; when it is empty, gold is the median of the labels.
    adjudicated_score = models.SmallIntegerField(null=True, blank=True)
    adjudication_note = models.TextField(blank=True)
    adjudicated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    adjudicated_at = models.DateTimeField(null=True, blank=True)
    # How many labels the item has: kept by the database's label triggers (see labeling/counters.py).
    label_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="item_unique_external_id")
        ]
        indexes = [
            models.Index(fields=["project", "split"]),
            # The labeling queue walks a project's items in id order and stops at the first open one.
            models.Index(fields=["project", "id"], name="item_queue_order"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.query[:60]}"

    def save(self, *args, **kwargs) -> None:
        if not self.split:
            self.split = split_for(self.external_id)
        _leave_counters_alone(self, kwargs)
        super().save(*args, **kwargs)


class Label(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="labels")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="labels")
    score = models.SmallIntegerField()
    rationale = models.TextField(blank=True)
    # Time on item: from the moment the labeling page showed the item to the submit (None when imported).
    seconds_spent = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="one_label_per_annotator")]
        indexes = [models.Index(fields=["created_at"], name="label_created_at")]

    def __str__(self) -> str:
        return f"{self.annotator} → {self.score} on item {self.item_id}"


class LabelRevision(models.Model):
    """The audit trail of labels: the value a label held before an edit, or the label an undo removed."""

    class Action(models.TextChoices):
        EDIT = "edit"
        UNDO = "undo"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="label_revisions")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Kept for an edit; an undone label no longer exists.
    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    action = models.CharField(max_length=4, choices=Action.choices)
    score = models.SmallIntegerField()
    rationale = models.TextField(blank=True)
    labeled_at = models.DateTimeField(help_text="When the label was first given.")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} of {self.annotator}'s {self.score} on item {self.item_id}"


class AnnotatorProgress(models.Model):
    """One annotator's counters in one project, kept by the database's label triggers (see
    labeling/counters.py): what the labeling page's progress bar reads instead of counting labels."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    labels = models.PositiveIntegerField(default=0)
    # Their labels on items still short of the project's labels_per_item.
    labels_on_open_items = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "annotator"], name="one_progress_per_annotator")
        ]

    def __str__(self) -> str:
        return f"{self.annotator} in {self.project}: {self.labels} labels"


class Reservation(models.Model):
    """An item held for one annotator until it expires: one per item, so two annotators asking for work
    at the same moment never receive the same item. An expired reservation is free for anyone to take."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="reservation")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["annotator", "expires_at"], name="reservation_by_annotator")]

    def __str__(self) -> str:
        return f"item {self.item_id} held by {self.annotator} until {self.expires_at:%H:%M:%S}"


class Skip(models.Model):
    """An annotator passed on an item: it goes to the back of their queue (see services.item_skip)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="skips")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    skipped_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["annotator", "item"], name="one_skip_per_annotator")]

    def __str__(self) -> str:
        return f"{self.annotator} skipped item {self.item_id}"


class ImportJob(BackgroundRun):
    """One upload (from the browser or the API), imported in the background by a worker."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    file_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    options = models.JSONField(default=dict)
    items_imported = models.PositiveIntegerField(default=0)
    labels_imported = models.PositiveIntegerField(default=0)
    # The file's own problems, line by line ([{"line": 3, "message": "…"}]); `error` is the job's.
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import of {self.file_name} into {self.project} ({self.status})"


class MembershipQuerySet(models.QuerySet):
    def of(self, user) -> MembershipQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)


class Membership(models.Model):
    """One user's one role in one project: what they may see and do there (see labeling.roles)."""

    class Role(models.TextChoices):
        ANNOTATOR = "annotator"
        REVIEWER = "reviewer"
        LEAD = "lead"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} in {self.project}"
