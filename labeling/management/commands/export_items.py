"""manage.py export_items: write a project's items, labels and gold as CSV or JSON Lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.exporting import EXPORT_FORMATS, items_export_lines
from labeling.models import Project


class Command(BaseCommand):
    help = "Export a project's items with their labels and gold (to stdout unless --output is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_slug")
        parser.add_argument("--format", choices=EXPORT_FORMATS, required=True)
        parser.add_argument("--output", type=Path, help="File to write (default: stdout).")

    def handle(self, *args, project_slug: str, format: str, output: Path | None, **options) -> None:
        project = Project.objects.filter(slug=project_slug).first()
        if project is None:
            raise CommandError(f"no project {project_slug!r}")
        chunks = items_export_lines(project=project, fmt=format)
        if output is None:
            try:
                for chunk in chunks:
                    self.stdout.write(chunk, ending="")
                self.stdout.flush()
            except BrokenPipeError:
                # The reader stopped early (`| head`): not an error. Silence the flush at exit.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            finally:
                chunks.close()
            return
        count = -1 if format == "csv" else 0  # the CSV header is not an item
        with output.open("w", encoding="utf-8", newline="") as file:
            for chunk in chunks:
                file.write(chunk)
                count += 1
        self.stderr.write(f"Wrote {count} items to {output}.")
