"""`manage.py bullets_make`: turn a finished judge run's train/dev disagreements into open bullets, as the
"Make bullets" button of its disagreements page does. Reviewers then approve, edit or merge them."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from judging.models import JudgeRun
from optimizer.bullets import bullets_generate_from_run


class Command(BaseCommand):
    help = "Make one open bullet per train/dev disagreement of a finished judge run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("run", type=int, help="judge run id")

    def handle(self, *args, **options) -> None:
        run = JudgeRun.objects.select_related("project").filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"No judge run #{options['run']}.")
        if run.status != JudgeRun.Status.DONE:
            raise CommandError(f"Judge run #{run.pk} is {run.status}: bullets come from a finished run.")
        made = bullets_generate_from_run(run=run)
        self.stdout.write(
            f"{made.created} new bullets from run #{run.pk} ({made.existing} existed already). Reviewers "
            f"approve, edit or merge them on {reverse('optimizer:bullets', args=[run.project.slug])}; "
            "approved bullets are the feedback the optimizer gets for their items."
        )
