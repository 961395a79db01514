"""`manage.py optimize`: launch an optimization run, as the browser does, and follow it until it ends."""

from __future__ import annotations

import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from judging.models import ModelEndpoint, PromptVersion
from labeling import numbers
from labeling.lifecycle import TransitionRefused
from labeling.models import Project
from labeling.numbers import plural
from optimizer import runs
from optimizer.models import OptimizationRun
from optimizer.selectors import run_before_after
from optimizer.signals import search_progress


class Command(BaseCommand):
    help = "Search for a better judge prompt (GEPA, MIPROv2 or library composition) and follow the run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="project slug")
        parser.add_argument(
            "--base-version",
            type=int,
            help="prompt version id (default: production, else the newest clean hand-written one)",
        )
        parser.add_argument("--target", help="target model endpoint name (default: the base version's model)")
        parser.add_argument("--reflection", default="sim/reflector", help="reflection/proposal endpoint name")
        parser.add_argument(
            "--regime",
            choices=OptimizationRun.Regime.values,
            help="default: library with --algorithm library, else disagreement",
        )
        parser.add_argument("--algorithm", default="gepa", choices=OptimizationRun.Algorithm.values)
        parser.add_argument("--max-metric-calls", type=int, default=300)
        parser.add_argument("--max-dollars", type=Decimal, help="hard stop, in dollars")
        parser.add_argument(
            "--score-threshold", type=float, help="stop once the dev score reaches this (0-1)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="resume an interrupted run instead")
        parser.add_argument(
            "--inline", action="store_true", help="run in this process instead of queuing for a worker"
        )

    def _search_progress(self, run_id=None, event="", metric_calls=0, **details) -> None:
        """A line per base score, candidate and rejected proposal, and one per tenth of the budget, as
        the search (running in this process with --inline) makes them."""
        if event == "metric_calls":
            step = max(1, self._budget // 10)
            if metric_calls < self._next_calls:
                return
            self._next_calls = (metric_calls // step + 1) * step
            self.stdout.write(f"  run #{run_id}: {metric_calls}/{self._budget} metric calls")
        elif event == "base":
            self.stdout.write(
                f"  run #{run_id}: base dev score {details['score']:.3f} ({metric_calls} calls)"
            )
        elif event == "candidate":
            start = " ".join(details["instructions"].split())[:70]
            self.stdout.write(
                f"  run #{run_id}: candidate {details['index']} dev score {details['score']:.3f} "
                f"({metric_calls} calls): {start}…"
            )
        elif event == "rejected":
            start = " ".join(details["instructions"].split())[:70]
            self.stdout.write(
                f"  run #{run_id}: proposal rejected by the guardrails ({details['rules']}): {start}…"
            )
        self.stdout.flush()

    def handle(self, *args, **options) -> None:
        if options["inline"]:
            from config.celery import app

            app.conf.task_always_eager = True
            # The eager task runs inside _start, before the loop below: print as the search goes.
            self._budget, self._next_calls = options["max_metric_calls"], 0
            search_progress.connect(self._search_progress, weak=False)
        try:
            run = self._start(options)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except TransitionRefused as refused:
            raise CommandError(str(refused)) from refused
        finally:
            search_progress.disconnect(self._search_progress)
        estimate = run.estimate or {}
        self.stdout.write(
            f"Optimization run #{run.pk}: {run.get_algorithm_display()} on {run.target_endpoint.name}, "
            f"at most {runs.estimate_summary(estimate)}."
        )
        note = (estimate.get("dev_sample") or {}).get("note")
        if note:
            self.stdout.write(f"  {note}.")
        while True:
            run.refresh_from_db()
            best = "—" if run.best_dev_score is None else f"{run.best_dev_score:.3f}"
            self.stdout.write(
                f"  {run.status}: {run.metric_calls_used:,}/{run.max_metric_calls:,} metric calls, "
                f"best dev {best}, {plural(run.candidates.count(), 'candidate')}, "
                f"{numbers.dollars(run.dollars_spent)}"
            )
            if not run.is_active:
                break
            time.sleep(2)
        ended = run.status.capitalize() + (f": {run.stop_reason_note}" if run.stop_reason_note else "")
        self.stdout.write(f"{ended}. {run.error}".rstrip())
        rejected = run.rejected_proposals.count()
        self.stdout.write(
            f"Proposals rejected by the guardrails before evaluation: {rejected}"
            + (
                f" ({', '.join(sorted(set(run.rejected_proposals.values_list('rule', flat=True))))})."
                if rejected
                else "."
            )
        )
        base_dev = "—" if run.base_dev_score is None else f"{run.base_dev_score:.3f}"
        best_dev = "—" if run.best_dev_score is None else f"{run.best_dev_score:.3f}"
        flagged = run.candidates.exclude(prompt_version__guardrail_flags=[]).count()
        kept = plural(run.candidates.count(), "candidate")
        self.stdout.write(
            f"Dev objective: base {base_dev}, best {best_dev}; {kept}, "
            f"{flagged} of them flagged by the guardrails."
        )
        if run.best_version_id:
            self.stdout.write(f"Best candidate: prompt version {run.best_version_id}.")
        self._before_after(run)
        if run.status == OptimizationRun.Status.FAILED:
            raise CommandError(f"Run #{run.pk} failed.")

    def _before_after(self, run: OptimizationRun) -> None:
        comparison = run_before_after(run)
        if comparison is None:
            return
        base_items, best_items = comparison["items"]
        self.stdout.write(
            f"On the test split (base v{run.base_version_id}: {base_items:,} items, best "
            f"v{run.best_version_id}: {best_items:,}; paired on {comparison['paired_items']:,}), "
            "with 95% bootstrap intervals:"
        )
        for row in comparison["rows"]:
            self.stdout.write(
                f"  {row['label']:<18} base {row['before']:<22} best {row['after']:<22} "
                f"change {row['change']} ({row['verdict']})"
            )

    def _start(self, options) -> OptimizationRun:
        if options["resume"]:
            run = OptimizationRun.objects.filter(pk=options["resume"]).first()
            if run is None:
                raise CommandError(f"No optimization run #{options['resume']}.")
            return runs.optimization_run_resume(run=run)
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        algorithm = options["algorithm"]
        regime = options["regime"] or (
            OptimizationRun.Regime.LIBRARY
            if algorithm == OptimizationRun.Algorithm.LIBRARY
            else OptimizationRun.Regime.DISAGREEMENT
        )
        target = _endpoint(options["target"]) if options["target"] else None
        if options["base_version"]:
            base = PromptVersion.objects.filter(project=project, pk=options["base_version"]).first()
        else:
            base = runs.default_base_version(
                project=project,
                target_endpoint=None if regime == OptimizationRun.Regime.CROSS_MODEL else target,
            )
        if base is None:
            raise CommandError("No such prompt version in this project.")
        return runs.optimization_run_start(
            project=project,
            base_version=base,
            target_endpoint=target or base.target_model,
            reflection_endpoint=_endpoint(options["reflection"]),
            regime=regime,
            algorithm=algorithm,
            max_metric_calls=options["max_metric_calls"],
            max_dollars=options["max_dollars"],
            score_threshold=options["score_threshold"],
            seed=options["seed"],
        )


def _endpoint(name: str) -> ModelEndpoint:
    endpoint = ModelEndpoint.objects.filter(name=name).first()
    if endpoint is None:
        raise CommandError(f"No model endpoint named {name!r}.")
    return endpoint
