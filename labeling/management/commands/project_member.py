"""`manage.py project_member SLUG USER ROLE`: give a user a role in a project (annotator, reviewer or
lead), or take them out with the role "remove"."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from labeling.models import Project
from labeling.roles import ROLES, membership_remove, membership_set

REMOVE = "remove"


class Command(BaseCommand):
    help = "Give a user a role in a project, or remove them from it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project_slug", metavar="SLUG")
        parser.add_argument("username", metavar="USER")
        parser.add_argument(
            "role", metavar="ROLE", choices=[*ROLES, REMOVE], help=f"{', '.join(ROLES)} or remove"
        )

    def handle(self, *args, project_slug: str, username: str, role: str, **options) -> None:
        project = Project.objects.filter(slug=project_slug).first()
        if project is None:
            raise CommandError(f"no project {project_slug!r}")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            if role == REMOVE:
                removed = membership_remove(project=project, user=user)
                done = (
                    f"{username} is no longer a member of {project.slug}"
                    if removed
                    else (f"{username} was not a member of {project.slug}")
                )
            else:
                membership_set(project=project, user=user, role=role)
                done = f"{username} is now {role} in {project.slug}"
        except ValidationError as refused:
            raise CommandError(" ".join(refused.messages)) from None
        self.stdout.write(self.style.SUCCESS(done + "."))
