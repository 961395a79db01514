"""Prompt versions: their measured metrics per split, lineage, word-level diffs, the one way a version is
created (with its guardrails) and the DSPy program JSON export. Promotion lives in judging.promotion."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from dspy.utils.saving import get_dependency_versions

from judging.guardrails import ProjectGuardrails, version_flags
from judging.intervals import Interval
from judging.metrics import JudgeMetrics
from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.program import judge_program
from judging.stored_metrics import SplitFigures, run_figures
from labeling.models import SPLITS, Project

# Which splits a finished run can have measured, by its item set.
_RUN_SPLITS = {
    JudgeRun.ItemSet.TRAIN: ("train",),
    JudgeRun.ItemSet.DEV: ("dev",),
    JudgeRun.ItemSet.TEST: ("test",),
    JudgeRun.ItemSet.LABELED: SPLITS,
}
LINEAGE_MAX = 100


@dataclass(frozen=True)
class SplitMeasurement:
    """The metrics of one (version, model) on one split, from the newest finished run that judged it."""

    split: str
    run_id: int
    metrics: JudgeMetrics
    intervals: dict[str, Interval]  # 95% bootstrap intervals of the metrics
    judgments: int  # judgments that got an answer (scored or malformed)
    dollars_per_1000: Decimal | None
    latency_p50_ms: float | None

    def as_dict(self) -> dict:
        return {
            "split": self.split,
            "run": self.run_id,
            **self.metrics.as_dict(),
            "dollars_per_1000": float(self.dollars_per_1000) if self.dollars_per_1000 is not None else None,
            "latency_p50_ms": self.latency_p50_ms,
        }


def version_measurements(
    version: PromptVersion, endpoint: ModelEndpoint | None = None
) -> dict[str, SplitMeasurement]:
    """Metrics per split of the version on an endpoint (its own target model unless told), derived from
    the finished (done) judge runs of that pair: for each split, the newest run that judged it wins."""
    return versions_measurements([version], endpoint)[version.pk]


def versions_measurements(
    versions: list[PromptVersion], endpoint: ModelEndpoint | None = None
) -> dict[int, dict[str, SplitMeasurement]]:
    """version_measurements for many versions, with their runs found in one query."""
    runs = JudgeRun.objects.filter(
        prompt_version__in=versions, status=JudgeRun.Status.DONE, item_set__in=_RUN_SPLITS
    ).select_related("project")
    runs = (
        runs.filter(endpoint=endpoint)
        if endpoint
        else runs.filter(endpoint=F("prompt_version__target_model"))
    )
    runs_of: dict[int, list[JudgeRun]] = {}
    for run in runs.order_by("-created_at", "-id"):
        runs_of.setdefault(run.prompt_version_id, []).append(run)
    return {version.pk: _newest_per_split(runs_of.get(version.pk, [])) for version in versions}


def _newest_per_split(runs: list[JudgeRun]) -> dict[str, SplitMeasurement]:
    found: dict[str, SplitMeasurement] = {}
    for run in runs:
        missing = [split for split in _RUN_SPLITS[run.item_set] if split not in found]
        if not missing:
            continue
        splits = run_figures(run).splits
        found |= {split: _measurement(run, split, splits[split]) for split in missing if split in splits}
        if len(found) == len(SPLITS):
            break
    return {split: found[split] for split in SPLITS if split in found}


def _measurement(run: JudgeRun, split: str, figures: SplitFigures) -> SplitMeasurement:
    return SplitMeasurement(
        split=split,
        run_id=run.pk,
        metrics=figures.metrics,
        intervals=figures.intervals,
        judgments=figures.judgments,
        dollars_per_1000=figures.dollars_per_1000,
        latency_p50_ms=figures.latency_p50_ms,
    )


def version_test_metrics(version: PromptVersion) -> SplitMeasurement | None:
    return version_measurements(version).get("test")


def production_version(*, project: Project, target_model: ModelEndpoint) -> PromptVersion | None:
    return (
        PromptVersion.objects.select_related("project", "target_model")
        .filter(project=project, target_model=target_model, status=PromptVersion.Status.PRODUCTION)
        .first()
    )


def is_rollback(version: PromptVersion, replaced: PromptVersion | None) -> bool:
    """Promoting a version older than the production one it replaces is a rollback."""
    return replaced is not None and (version.created_at, version.pk) < (replaced.created_at, replaced.pk)


def version_lineage(version: PromptVersion) -> list[PromptVersion]:
    """The version, its parent, the parent's parent, … up to the root (newest first), in two queries."""
    parents = dict(version.project.prompt_versions.values_list("pk", "parent_id"))
    ancestors = _ancestor_ids(version, parents, limit=LINEAGE_MAX - 1)
    found = PromptVersion.objects.in_bulk(ancestors)
    return [version, *(found[pk] for pk in ancestors)]


def _ancestor_ids(version: PromptVersion, parents: dict[int, int | None], *, limit: int) -> list[int]:
    """Ids up the parent chain, parent first; a cycle (never made by Flywheel) ends the walk."""
    chain, parent = [], version.parent_id
    while parent is not None and parent != version.pk and parent not in chain and len(chain) < limit:
        chain.append(parent)
        parent = parents.get(parent)
    return chain


@dataclass(frozen=True)
class VersionRow:
    version: PromptVersion
    lineage: list[int]  # parent chain as ids, parent first
    measurements: dict[str, SplitMeasurement]

    @property
    def by_split(self) -> list[SplitMeasurement | None]:
        """One entry per split in SPLITS order, None where the split was never measured."""
        return [self.measurements.get(split) for split in SPLITS]


def version_history(*, project: Project, target_model: ModelEndpoint | None = None) -> list[VersionRow]:
    """The project's versions (newest first), optionally of one target model, each with its lineage and
    its metrics on its own target model."""
    versions = list(project.prompt_versions.select_related("target_model", "created_by"))
    parents = {v.pk: v.parent_id for v in versions}
    shown = [v for v in versions if target_model is None or v.target_model_id == target_model.pk]
    measured = versions_measurements(shown)
    return [
        VersionRow(version, _ancestor_ids(version, parents, limit=LINEAGE_MAX), measured[version.pk])
        for version in shown
    ]


# Word-level diff

_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> SafeString:
    """The two texts as one, words removed in <del> and words added in <ins>. Every token is escaped."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    parts: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(("span", "".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            parts.append(("del", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            parts.append(("ins", "".join(b[j1:j2])))
    return format_html_join(
        "",
        "{}",
        ((format_html("<{0}>{1}</{0}>", tag, text) if tag != "span" else text,) for tag, text in parts),
    )


def diff_counts(old: str, new: str) -> tuple[int, int]:
    """Words removed and words added."""
    a, b = old.split(), new.split()
    removed = added = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            removed += i2 - i1
        if op in ("insert", "replace"):
            added += j2 - j1
    return removed, added


# Hand-written drafts


def demos_clean(*, project: Project, demos) -> list[dict]:
    """Few-shot demos as the judge program takes them: query, document, reasoning and a score on the scale."""
    if not isinstance(demos, list):
        raise ValidationError("Demos must be a JSON list of objects.")
    cleaned = []
    for n, demo in enumerate(demos, start=1):
        if not isinstance(demo, dict):
            raise ValidationError(f"Demo {n} is not an object.")
        missing = [k for k in ("query", "document", "reasoning", "score") if k not in demo]
        if missing:
            raise ValidationError(f"Demo {n} lacks {', '.join(missing)}.")
        score = demo["score"]
        if (
            isinstance(score, bool)
            or not isinstance(score, int)
            or not (project.scale_min <= score <= project.scale_max)
        ):
            raise ValidationError(
                f"Demo {n}: the score must be an integer from {project.scale_min} to {project.scale_max}."
            )
        cleaned.append(
            {
                k: demo[k] if k == "score" else str(demo[k])
                for k in ("query", "document", "reasoning", "score")
            }
        )
    return cleaned


def version_create(
    *,
    project: Project,
    target_model: ModelEndpoint,
    instructions: str,
    demos=(),
    user=None,
    parent: PromptVersion | None = None,
    origin: str = "hand-written",
    status: str = PromptVersion.Status.DRAFT,
    guardrails: ProjectGuardrails | None = None,
) -> PromptVersion:
    """The one way a prompt version comes to be (written, edited, optimized, composed, over the API): the
    text is checked, and every guardrail runs on the version's whole text, its findings stored with it.
    `guardrails` is the project's, when the caller (an optimizer run) gathered them once for many."""
    instructions = (instructions or "").strip()
    if not instructions:
        raise ValidationError("The instructions cannot be empty.")
    demos = demos_clean(project=project, demos=list(demos) if isinstance(demos, tuple) else demos)
    flags = version_flags(project=project, instructions=instructions, parent=parent, guardrails=guardrails)
    return PromptVersion.objects.create(
        project=project,
        target_model=target_model,
        parent=parent,
        instructions=instructions,
        demos=demos,
        origin=origin,
        status=status,
        guardrail_flags=flags,
        created_by=user,
    )


def version_create_draft(
    *, parent: PromptVersion, instructions: str, demos: list[dict], user
) -> PromptVersion:
    """A lead's hand-written edit of any version: a new draft for the same project and model, whose
    parent is the version it was written from."""
    return version_create(
        project=parent.project,
        target_model=parent.target_model,
        instructions=instructions,
        demos=demos,
        user=user,
        parent=parent,
    )


# The DSPy program JSON


def _program_description(program) -> dict:
    """What a plain DSPy program needs to load the export: the module, the predictor's name, the fields in
    order with their types, and the adapter Flywheel runs it with."""
    signature = program.judge.signature

    def fields(found: dict) -> list[dict]:
        return [
            {"name": name, "type": _type_name(f.annotation), "description": f.json_schema_extra["desc"]}
            for name, f in found.items()
        ]

    return {
        "module": "dspy.Predict",
        "predictor": "judge",
        "inputs": fields(signature.input_fields),
        "outputs": fields(signature.output_fields),
        "adapter": "dspy.ChatAdapter(use_json_adapter_fallback=False)",
        "document_max_chars": program.document_max_chars,
    }


def _type_name(annotation) -> str:
    return annotation.__name__ if isinstance(annotation, type) else repr(annotation).replace("typing.", "")


def version_program_json(version: PromptVersion) -> dict:
    """Exactly what `Module.save(path.json, save_program=False)` writes for the judge program of the
    version, plus a "flywheel" key that DSPy's load ignores, describing how to rebuild the program."""
    program = judge_program(project=version.project, prompt_version=version)
    state = program.dump_state()
    state["metadata"] = {"dependency_versions": get_dependency_versions()}
    state["flywheel"] = {
        "project": version.project.slug,
        "version": version.pk,
        "target_model": version.target_model.name,
        "status": version.status,
        "scale": {"min": version.project.scale_min, "max": version.project.scale_max},
        **_program_description(program),
    }
    return state
