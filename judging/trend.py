"""The metric trend over prompt versions: each version's test-split NMSE and malformed rate on its own
model, with 95% bootstrap intervals, for the dashboard's flywheel chart."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef

from judging import intervals
from judging.models import JudgeRun, PromptVersion
from judging.versions import SplitMeasurement, versions_measurements

# The chart stays readable, and its bootstrap cheap, with the newest this many measured versions.
TREND_MAX = 30
TREND_SPLIT = "test"
_MEASURES_TEST = (JudgeRun.ItemSet.TEST, JudgeRun.ItemSet.LABELED)


@dataclass(frozen=True)
class TrendPoint:
    version: PromptVersion
    measurement: SplitMeasurement
    nmse: intervals.Interval
    malformed_rate: intervals.Interval


def version_trend(project, *, limit: int = TREND_MAX) -> list[TrendPoint]:
    """The newest `limit` versions measured on the test split of their own model, oldest first. The test
    split is the one no optimizer trains on, and every version is judged there on the same items (by a
    full run or the optimizer's test-split run alike), so the points compare."""
    measured_runs = JudgeRun.objects.filter(
        prompt_version=OuterRef("pk"),
        endpoint=OuterRef("target_model"),
        status=JudgeRun.Status.DONE,
        item_set__in=_MEASURES_TEST,
    )
    versions = list(
        project.prompt_versions.filter(Exists(measured_runs))
        .select_related("target_model")
        .order_by(F("created_at").desc(), F("id").desc())[:limit]
    )[::-1]
    measurements = versions_measurements(versions)
    runs = JudgeRun.objects.select_related("project").in_bulk(
        m[TREND_SPLIT].run_id for m in measurements.values() if TREND_SPLIT in m
    )
    points = []
    for version in versions:
        measurement = measurements[version.pk].get(TREND_SPLIT)
        if measurement is None:  # the run judged the split, but none of its items has a gold score
            continue
        found = intervals.metric_intervals(
            intervals.scores_of(intervals.run_split_scores(runs[measurement.run_id], TREND_SPLIT)),
            scale_min=project.scale_min,
            scale_max=project.scale_max,
        )
        points.append(TrendPoint(version, measurement, found["nmse"], found["malformed_rate"]))
    return points
