"""`manage.py prompt_create`: write a project's new prompt version for a model, as the versions page does."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from judging import versions
from judging.drafting import first_instructions
from judging.models import ModelEndpoint
from labeling.models import Project


class Command(BaseCommand):
    help = (
        "Create a draft prompt version of a project for a model endpoint, from a file or from a draft of the "
        "project's rubric and score meanings. Prints the new version's number."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="project slug")
        parser.add_argument("--model", required=True, help="model endpoint name, e.g. sim/judge-small")
        parser.add_argument(
            "--instructions-file",
            type=Path,
            help="UTF-8 text of the instructions (default: a draft from the rubric and score meanings)",
        )
        parser.add_argument(
            "--parent", type=int, help="the version this one is written from (same project and model)"
        )

    def handle(self, *args, **options) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        endpoint = ModelEndpoint.objects.filter(name=options["model"]).first()
        if endpoint is None:
            names = ", ".join(ModelEndpoint.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No model endpoint named {options['model']!r} (there are: {names}).")
        parent = None
        if options["parent"]:
            parent = project.prompt_versions.filter(pk=options["parent"], target_model=endpoint).first()
            if parent is None:
                raise CommandError(f"No version v{options['parent']} of {project.slug} for {endpoint.name}.")
        path = options["instructions_file"]
        if path is None:
            instructions = first_instructions(project)
        else:
            try:
                instructions = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {path}: {exc}") from None
        try:
            version = versions.version_create(
                project=project,
                target_model=endpoint,
                parent=parent,
                instructions=instructions,
                demos=parent.demos if parent else [],
                origin="hand-written",
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stderr.write(f"Created draft v{version.pk} of {project.slug} for {endpoint.name}.")
        for flag in version.guardrail_flags:
            self.stderr.write(self.style.WARNING(f"  flagged: {flag.get('rule')}: {flag.get('detail')}"))
        self.stdout.write(str(version.pk))
