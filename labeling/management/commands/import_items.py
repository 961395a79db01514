"""manage.py import_items: load items (and any labels) from a CSV or JSON Lines file, all or nothing."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from labeling.importing import FIELDS, FORMATS, ImportOptions, ImportRejected, items_import
from labeling.models import Project
from labeling.roles import LEAD, membership_set
from labeling.scale import scale_labels_parse, scale_points_without_meaning

SCALE_RE = re.compile(r"^\s*(-?\d+)\s*(?:-|\.\.)\s*(-?\d+)\s*$")


def parse_scale(text: str) -> tuple[int, int]:
    """ "0-3" or "0..3" -> (0, 3)."""
    match = SCALE_RE.match(text)
    if not match or int(match[2]) <= int(match[1]):
        raise CommandError(f"a scale is written low-high with low < high, e.g. 0-3; got {text!r}")
    return int(match[1]), int(match[2])


def parse_field_map(pairs: list[str]) -> dict[str, str]:
    field_map = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise CommandError(f"--map takes field=column, e.g. score=grade; got {pair!r}")
        if name not in FIELDS:
            raise CommandError(f"--map: unknown field {name!r}; the fields are {', '.join(FIELDS)}")
        field_map[name] = column
    return field_map


class Command(BaseCommand):
    help = (
        "Import items (and any labels they carry) from a CSV or JSON Lines file into a project. "
        "A file with any bad line imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_slug")
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file name.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=f"Read a field from another column ({', '.join(FIELDS)}); external_id may join "
            "columns with +, e.g. --map external_id=query_id+doc_id. Repeat for each field.",
        )
        parser.add_argument(
            "--file-scale", help="The file's own grade range, e.g. 0-3, if it is not the project's."
        )
        parser.add_argument(
            "--labels-as", help="Username owning the labels when the file has no annotator column."
        )
        parser.add_argument(
            "--create-project", action="store_true", help="Create the project if it is missing."
        )
        parser.add_argument("--scale", help="Scale of a created project, e.g. 0-3 (default 1-5).")
        parser.add_argument("--name", help="Name of a created project (default: the slug).")
        parser.add_argument(
            "--scale-labels",
            metavar='"0=…;1=…"',
            help='What each score means, e.g. "0=not relevant;1=related;2=highly relevant;3=perfect". '
            "Annotators see them, and a first prompt is drafted from them.",
        )
        parser.add_argument(
            "--lead",
            metavar="USER",
            help="Username who leads a created project (its first member). Without it only superusers "
            "see the project until someone runs manage.py project_member.",
        )

    def handle(self, *args, project_slug: str, path: Path, **options) -> None:
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        import_options = ImportOptions(
            format=options["format"],
            field_map=parse_field_map(options["map"]),
            file_scale=parse_scale(options["file_scale"]) if options["file_scale"] else None,
            labels_as=options["labels_as"],
        )
        started = time.monotonic()
        try:
            # One transaction with the import, so a rejected file does not leave a new empty project behind.
            with transaction.atomic():
                project = self._project(project_slug, options)
                if options["scale_labels"]:
                    import_options = dataclasses.replace(
                        import_options,
                        scale_labels=scale_labels_parse(
                            options["scale_labels"], scale_min=project.scale_min, scale_max=project.scale_max
                        ),
                    )
                result = items_import(project=project, path=path, options=import_options)
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(f"{path}:{error.line}: {error.message}")
            more = rejected.bad_lines - len(rejected.errors)
            if more > 0:
                self.stderr.write(f"… and {more} more bad line{'s' if more != 1 else ''}")
            bad = f"{rejected.bad_lines} bad line{'s' if rejected.bad_lines != 1 else ''}"
            raise CommandError(f"{path} was rejected ({bad}): nothing was imported.") from None
        except ValidationError as error:
            raise CommandError(f"--scale-labels: {' '.join(error.messages)}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.items_created + result.items_updated:,} items into {project.slug} "
                f"({result.items_created:,} new, {result.items_updated:,} updated) and "
                f"{result.labels_imported:,} labels in {time.monotonic() - started:.1f}s."
            )
        )
        missing = scale_points_without_meaning(project)
        if missing:
            example = ";".join(f"{point}=…" for point in project.scale_points)
            self.stdout.write(
                self.style.WARNING(
                    f"{project.slug} has no meaning for {', '.join(map(str, missing))} on its scale: "
                    "annotators see bare numbers, and a first prompt drafted from the project cannot say "
                    f'what they mean. Give them with --scale-labels "{example}" or on the project\'s '
                    "settings page."
                )
            )

    def _project(self, slug: str, options: dict) -> Project:
        project = Project.objects.filter(slug=slug).first()
        scale = parse_scale(options["scale"]) if options["scale"] else None
        if project is not None:
            if scale and (project.scale_min, project.scale_max) != scale:
                raise CommandError(
                    f"project {slug!r} exists with the scale {project.scale_min}-{project.scale_max}, "
                    f"not {scale[0]}-{scale[1]}"
                )
            return project
        if not options["create_project"]:
            raise CommandError(f"no project {slug!r} (pass --create-project to create it)")
        lead = None
        if options["lead"]:
            lead = get_user_model().objects.filter(username=options["lead"]).first()
            if lead is None:
                raise CommandError(f"--lead: no user {options['lead']!r}")
        low, high = scale or (1, 5)
        project = Project.objects.create(
            slug=slug,
            name=options["name"] or slug,
            scale_min=low,
            scale_max=high,
            rubric=(
                f"How relevant is the document to the query? Score from {low} (not relevant at all) "
                f"to {high} (a perfect, complete answer)."
            ),
        )
        if lead is not None:
            membership_set(project=project, user=lead, role=LEAD)
        else:
            self.stderr.write(
                f"{slug} has no member yet: give it a lead with `manage.py project_member {slug} USER lead`."
            )
        return project
