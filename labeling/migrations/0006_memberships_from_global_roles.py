"""Upgrading changes nobody's access: every user keeps the role they held (through the global role groups)
in every project that exists at the upgrade. Superusers are leads everywhere and need no row."""

from django.db import migrations

_RANK = {"annotator": 0, "reviewer": 1, "lead": 2}


def memberships_from_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Project = apps.get_model("labeling", "Project")
    Membership = apps.get_model("labeling", "Membership")
    highest: dict[int, str] = {}
    for group in Group.objects.filter(name__in=_RANK):
        for user_id in group.user_set.values_list("id", flat=True):
            if user_id not in highest or _RANK[group.name] > _RANK[highest[user_id]]:
                highest[user_id] = group.name
    project_ids = list(Project.objects.values_list("id", flat=True))
    Membership.objects.bulk_create(
        [
            Membership(project_id=project_id, user_id=user_id, role=role)
            for user_id, role in highest.items()
            for project_id in project_ids
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("labeling", "0005_project_memberships"),
    ]

    operations = [migrations.RunPython(memberships_from_groups, migrations.RunPython.noop)]
