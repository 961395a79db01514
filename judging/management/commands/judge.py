"""`manage.py judge`: start a judge run, as the browser does, and follow it until it ends."""

from __future__ import annotations

import time

from celery.signals import task_postrun
from django.core.management.base import BaseCommand, CommandError

from judging import intervals, runs, selectors, stored_metrics
from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.tasks import judge_chunk_task
from labeling import numbers
from labeling.lifecycle import TransitionRefused


def _reused_note(progress: dict) -> str:
    """Why a run may cost nothing: its judgments were copied from earlier identical ones."""
    reused = progress["reused"]
    if not reused:
        return ""
    if reused == progress["done"]:
        return f" (all {reused:,} judgments reused from earlier runs: no model call)"
    return f" ({reused:,} judgments reused from earlier runs at no cost)"


class Command(BaseCommand):
    help = "Judge a project's items with a prompt version on a model endpoint."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="project slug")
        parser.add_argument("--endpoint", required=True, help="model endpoint name, e.g. sim/judge-small")
        parser.add_argument(
            "--prompt-version", type=int, help="prompt version id (default: the project's newest)"
        )
        parser.add_argument("--items", default="labeled", choices=[c for c, _ in JudgeRun.ItemSet.choices])
        parser.add_argument("--force-fresh", action="store_true", help="never reuse an earlier judgment")
        parser.add_argument(
            "--resume", type=int, metavar="RUN_ID", help="resume this run instead of starting one"
        )
        parser.add_argument(
            "--inline", action="store_true", help="judge in this process instead of queuing for a worker"
        )

    def _progress_line(self, run: JudgeRun) -> dict:
        progress = selectors.run_progress(run)
        self.stdout.write(
            f"  {run.status}: {progress['done']:,}/{progress['total']:,} judged, "
            f"{progress['malformed']:,} malformed, {progress['errors']:,} errors, "
            f"{numbers.dollars(progress['cost'])}{_reused_note(progress)}"
        )
        self.stdout.flush()
        return progress

    def _heading(self, run: JudgeRun) -> None:
        if not getattr(self, "_headed", False):
            self._headed = True
            self.stdout.write(f"Judge run #{run.pk}: {run.total_items:,} items on {run.endpoint.name}.")

    def _chunk_done(self, sender=None, args=(), **_kwargs) -> None:
        """A line as each chunk ends (Celery sends task_postrun for eager tasks too)."""
        if getattr(sender, "name", None) != judge_chunk_task.name:  # shared_task gives a proxy
            return
        run = JudgeRun.objects.select_related("endpoint").get(pk=args[0])
        self._heading(run)
        self._progress_line(run)

    def handle(self, *args, **options) -> None:
        if options["resume"]:
            run = JudgeRun.objects.filter(pk=options["resume"]).first()
            if run is None:
                raise CommandError(f"No judge run #{options['resume']}.")
            starter = lambda: runs.judge_run_resume(run=run)  # noqa: E731
        else:
            endpoint = ModelEndpoint.objects.filter(name=options["endpoint"]).first()
            if endpoint is None:
                raise CommandError(f"No model endpoint named {options['endpoint']!r}.")
            versions = PromptVersion.objects.filter(project__slug=options["project"])
            version = (
                versions.filter(pk=options["prompt_version"]).first()
                if options["prompt_version"]
                else versions.first()
            )
            if version is None and not versions.exists():
                raise CommandError(
                    f"Project {options['project']!r} has no prompt version yet: write its first with "
                    f"`manage.py prompt_create {options['project']} --model {endpoint.name}` "
                    "(or on its Prompt versions page)."
                )
            if version is None:
                raise CommandError(
                    f"No prompt version v{options['prompt_version']} in {options['project']!r}."
                )
            starter = lambda: runs.judge_run_start(  # noqa: E731
                prompt_version=version,
                endpoint=endpoint,
                item_set=options["items"],
                force_fresh=options["force_fresh"],
                started_from="command line",
            )
        if options["inline"]:
            from config.celery import app

            app.conf.task_always_eager = True
            # Eager tasks run inside starter(), before the loop below: print a line as each chunk ends.
            task_postrun.connect(self._chunk_done, weak=False)
        try:
            run = starter()
        except TransitionRefused as refused:
            raise CommandError(str(refused)) from refused
        finally:
            task_postrun.disconnect(self._chunk_done)
        self._heading(run)
        while True:
            run.refresh_from_db()
            progress = self._progress_line(run)
            if not run.is_active:
                if run.error:
                    self.stdout.write(f"  {run.error}")
                break
            if progress["stalled_for_s"]:
                self.stderr.write(
                    f"  No worker has reported on run #{run.pk} for {progress['stalled_for_s']:.0f} s. "
                    "Is a worker running? Once it is marked interrupted, "
                    f"--resume {run.pk} re-queues only what is missing."
                )
            time.sleep(2)
        measured = stored_metrics.run_figures(run).splits
        for split in selectors.shown_splits(measured):
            found = measured[split]
            figures = intervals.shown_figures(found.intervals)
            self.stdout.write(
                f"  {split:>5}: {found.metrics.items:,} items, NMSE {figures['nmse']}, malformed "
                f"{figures['malformed_rate']}, kappa {figures['kappa']}, MAE {figures['mae']}"
            )
        if measured:
            self.stdout.write("  (in brackets: 95% bootstrap intervals, items resampled 1,000 times)")
