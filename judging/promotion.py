"""Promotion of a prompt version to production: why one may not be promoted, the paired test-split
comparison with the current production version (with 95% bootstrap intervals), the gate that asks a
written reason for a worse or uncertain one, and the audit log. Rollback is promoting an older version."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from judging import intervals
from judging.intervals import Interval
from judging.models import JudgeRun, PromotionLog, PromptVersion
from judging.versions import SplitMeasurement, is_rollback, version_test_metrics


class PromotionRefused(Exception):
    def __init__(self, reasons: list[str], *, needs_reason: bool = False):
        super().__init__(reasons)
        self.reasons = reasons
        # Refused only for want of a written reason: the lead may still promote by giving one.
        self.needs_reason = needs_reason

    def __str__(self) -> str:
        return "Promotion refused: " + " ".join(self.reasons)


def promotion_refusals(version: PromptVersion, test: SplitMeasurement | None) -> list[str]:
    """Why the version may not be promoted; empty when it may."""
    reasons = []
    if version.status == PromptVersion.Status.PRODUCTION:
        reasons.append(f"v{version.pk} is already the production version for {version.target_model.name}.")
    if version.is_flagged:
        found = (
            "; ".join(
                f"{flag.get('rule', 'guardrail')}: {flag.get('detail', '')}".strip(": ")
                for flag in version.guardrail_flags
                if isinstance(flag, dict)
            )
            or "see the version's flags"
        )
        reasons.append(f"v{version.pk} was flagged by the guardrails ({found}).")
    if test is None:
        reasons.append(
            f"v{version.pk} has no test-split metrics on {version.target_model.name}: judge it on the test "
            "split first (the “Judge on the test split” button of its version page, or "
            f"`manage.py judge {version.project.slug} --endpoint {version.target_model.name} "
            f"--prompt-version {version.pk} --items test`)."
        )
    return reasons


# What must not get worse for a version to replace production without a written reason.
GATED_METRICS = (("nmse", "NMSE"), ("malformed_rate", "malformed rate"))


@dataclass(frozen=True)
class GatedMetric:
    name: str
    label: str
    difference: Interval  # version − production on the same test items
    verdict: str  # better, same, uncertain, worse, unknown

    @property
    def shown(self) -> str:
        return intervals.shown_difference(self.name, self.difference)

    @property
    def in_words(self) -> str:
        return {
            "better": f"better: the whole 95% interval of the {self.label} difference is below 0",
            "same": f"the same {self.label} on every item",
            "uncertain": f"uncertain: the 95% interval of the {self.label} difference crosses 0",
            "worse": f"worse: the whole 95% interval of the {self.label} difference is above 0",
            "unknown": f"no {self.label} to compare",
        }[self.verdict]


@dataclass(frozen=True)
class PromotionComparison:
    """The version against the production version it would replace, on the test items both answered."""

    production: PromptVersion
    items: int
    metrics: list[GatedMetric]

    @property
    def is_worse(self) -> bool:
        return any(m.verdict == "worse" for m in self.metrics)

    @property
    def needs_reason(self) -> bool:
        return self.items == 0 or any(m.verdict in ("worse", "uncertain", "unknown") for m in self.metrics)

    def summary(self) -> str:
        if self.items == 0:
            return f"v{self.production.pk} (production) was not measured on any of the same test items."
        found = "; ".join(f"{m.label} {m.shown}, {m.verdict}" for m in self.metrics)
        return f"Against production v{self.production.pk} on the same {self.items:,} test items: {found}."

    def as_dict(self) -> dict:
        return {
            "production": self.production.pk,
            "items": self.items,
            **{m.name: {**m.difference.as_dict(), "verdict": m.verdict} for m in self.metrics},
        }


def promotion_comparison(
    version: PromptVersion, production: PromptVersion | None
) -> PromotionComparison | None:
    """The paired test-split difference of the version and production on the same items, with 95%
    bootstrap intervals; None when there is no production version (or no test metrics) to compare."""
    if production is None or production == version:
        return None
    mine, theirs = version_test_metrics(version), version_test_metrics(production)
    if mine is None or theirs is None:
        return None
    before, after = intervals.paired_scores(
        intervals.run_split_scores(JudgeRun.objects.get(pk=theirs.run_id), "test"),
        intervals.run_split_scores(JudgeRun.objects.get(pk=mine.run_id), "test"),
    )
    project = version.project
    differences = intervals.paired_differences(
        before, after, scale_min=project.scale_min, scale_max=project.scale_max
    )
    return PromotionComparison(
        production=production,
        items=len(before.gold),
        metrics=[
            GatedMetric(name, label, differences[name], intervals.verdict(name, differences[name]))
            for name, label in GATED_METRICS
        ],
    )


ANY_PREVIOUS = object()


def version_promote(
    *, version: PromptVersion, user, expected_previous_id=ANY_PREVIOUS, reason: str = ""
) -> PromotionLog:
    """Make the version the production one of its (project, model); the previous one is archived.

    Refused (PromotionRefused) for a guardrail-flagged version or one without test-split metrics measured
    on its model, and, without a written `reason`, for one whose NMSE or malformed rate on the same test
    items is worse than production's or not surely better (the paired 95% interval crosses 0); the reason
    is kept in the log. `expected_previous_id` is the production version the lead saw on the confirmation
    page: if production changed since, nothing happens and the lead is asked to look again."""
    with transaction.atomic():
        # Lock every version of this (project, model) so that two promotions cannot interleave.
        locked = list(
            PromptVersion.objects.select_for_update()
            .filter(project_id=version.project_id, target_model_id=version.target_model_id)
            .order_by("pk")
        )
        version = next(v for v in locked if v.pk == version.pk)
        previous = next((v for v in locked if v.status == PromptVersion.Status.PRODUCTION), None)
        previous_id = previous.pk if previous else None
        if (
            expected_previous_id is not ANY_PREVIOUS
            and expected_previous_id != previous_id
            and previous != version
        ):
            raise PromotionRefused(
                ["The production version changed since the confirmation page was shown: review it again."]
            )
        test = version_test_metrics(version)
        reasons = promotion_refusals(version, test)
        if reasons:
            raise PromotionRefused(reasons)
        reason = (reason or "").strip()
        comparison = promotion_comparison(version, previous)
        if comparison is not None and comparison.needs_reason and not reason:
            raise PromotionRefused(
                [
                    comparison.summary(),
                    "To promote it anyway, write the reason: it is kept in the promotion log.",
                ],
                needs_reason=True,
            )
        previous_test = version_test_metrics(previous) if previous else None
        if previous is not None:
            previous.status = PromptVersion.Status.ARCHIVED
            previous.save(update_fields=["status"])
        version.status = PromptVersion.Status.PRODUCTION
        version.save(update_fields=["status"])
        return PromotionLog.objects.create(
            project_id=version.project_id,
            target_model_id=version.target_model_id,
            version=version,
            previous=previous,
            is_rollback=is_rollback(version, previous),
            metrics={
                "version": test.as_dict(),
                "previous": previous_test.as_dict() if previous_test else None,
                "paired": comparison.as_dict() if comparison else None,
            },
            reason=reason,
            promoted_by=user,
        )
