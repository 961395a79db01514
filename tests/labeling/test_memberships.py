"""Projects have members, each with one role: the upgrade keeps everyone's access, a project's creator
leads it, and its leads (on the settings page), staff (in the admin) and the shell manage the rest."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from judging.demo import DEMO_SLUG, demo_accounts_ensure
from labeling.models import Membership, Project
from labeling.roles import ANNOTATOR, LEAD, REVIEWER, has_role, membership_set, projects_of

pytestmark = pytest.mark.django_db


def _project(slug: str) -> Project:
    return Project.objects.create(name=slug.title(), slug=slug, rubric="Rate it.")


def _roles(project: Project) -> dict[str, str]:
    return dict(project.memberships.values_list("user__username", "role"))


def test_the_upgrade_gives_every_user_their_old_global_role_in_every_existing_project(django_user_model):
    first, second = _project("first"), _project("second")
    for username, groups in (("ann", ["annotator"]), ("rev", ["annotator", "reviewer"]), ("lea", ["lead"])):
        user = django_user_model.objects.create_user(username)
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
    django_user_model.objects.create_user("nobody")
    migration = importlib.import_module("labeling.migrations.0006_memberships_from_global_roles")

    migration.memberships_from_groups(apps, None)

    expected = {"ann": ANNOTATOR, "rev": REVIEWER, "lea": LEAD}
    assert _roles(first) == expected and _roles(second) == expected


def test_a_new_projects_creator_becomes_its_lead(client_for, lead, project):
    response = client_for(lead).post(
        reverse("labeling:project_create"),
        {
            "name": "Fresh",
            "slug": "fresh",
            "rubric": "Rate it.",
            "scale_min": 1,
            "scale_max": 5,
            "labels_per_item": 1,
            "rationale_min_length": 20,
            "adjudication_spread": 2,
            "queue_order": "id",
        },
    )
    assert response.status_code == 302
    assert _roles(Project.objects.get(slug="fresh")) == {"carol": LEAD}


def test_a_member_of_one_project_sees_only_that_project(client, django_user_model):
    mine, theirs = _project("mine"), _project("theirs")
    user = django_user_model.objects.create_user("solo")
    membership_set(project=mine, user=user, role=ANNOTATOR)
    client.force_login(user)
    body = client.get(reverse("labeling:home")).content.decode()
    assert "Mine" in body and "Theirs" not in body
    assert client.get(reverse("labeling:project", args=["theirs"])).status_code == 404
    assert list(projects_of(user)) == [mine] and not has_role(user, ANNOTATOR, theirs)


def test_a_lead_adds_changes_and_removes_a_member_on_the_settings_page(
    client_for, lead, project, django_user_model
):
    django_user_model.objects.create_user("newcomer")
    client = client_for(lead)
    url = reverse("labeling:members", args=[project.slug])

    client.post(url, {"username": "newcomer", "role": ANNOTATOR})
    assert _roles(project)["newcomer"] == ANNOTATOR
    client.post(url, {"username": "newcomer", "role": REVIEWER})
    assert _roles(project)["newcomer"] == REVIEWER
    settings_page = client.get(reverse("labeling:project_edit", args=[project.slug])).content.decode()
    assert "newcomer" in settings_page and 'action="/projects/web/members/"' in settings_page
    client.post(url, {"username": "newcomer", "role": "remove"})
    assert "newcomer" not in _roles(project)


def test_the_last_lead_can_be_neither_removed_nor_demoted(client_for, lead, project):
    client = client_for(lead)
    url = reverse("labeling:members", args=[project.slug])
    for role in ("remove", REVIEWER):
        response = client.post(url, {"username": "carol", "role": role}, follow=True)
        assert "last lead" in response.content.decode()
        assert _roles(project)["carol"] == LEAD


def test_a_reviewer_cannot_manage_members(client_for, reviewer, project):
    response = client_for(reviewer).post(
        reverse("labeling:members", args=[project.slug]), {"username": "bob", "role": LEAD}
    )
    assert response.status_code == 403 and _roles(project)["bob"] == REVIEWER


def test_an_unknown_user_is_named_in_the_refusal(client_for, lead, project):
    response = client_for(lead).post(
        reverse("labeling:members", args=[project.slug]),
        {"username": "ghost", "role": ANNOTATOR},
        follow=True,
    )
    assert "No active user is called &#x27;ghost&#x27;" in response.content.decode()


def test_the_project_member_command_gives_changes_and_removes_a_role(project, django_user_model, capsys):
    django_user_model.objects.create_user("shell")
    membership_set(project=project, user=django_user_model.objects.create_user("boss"), role=LEAD)
    call_command("project_member", "web", "shell", "reviewer")
    assert _roles(project)["shell"] == REVIEWER
    call_command("project_member", "web", "shell", "lead")
    assert _roles(project)["shell"] == LEAD
    call_command("project_member", "web", "shell", "remove")
    assert "shell" not in _roles(project)
    assert "is no longer a member of web" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("project_member", "web", "ghost", "lead")
    with pytest.raises(CommandError, match="no project 'nope'"):
        call_command("project_member", "nope", "shell", "lead")


def test_import_items_makes_the_lead_it_names_the_first_member_of_a_created_project(
    tmp_path, django_user_model
):
    django_user_model.objects.create_user("importer")
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"external_id": "a", "query": "q", "document": "d"}) + "\n")

    call_command("import_items", "created", str(path), "--create-project", "--lead", "importer")

    assert _roles(Project.objects.get(slug="created")) == {"importer": LEAD}


def test_the_demo_accounts_hold_the_roles_they_are_named_after_in_the_demo_project(demo_project, tmp_path):
    demo_accounts_ensure(path=tmp_path / "accounts.json")
    roles = _roles(Project.objects.get(slug=DEMO_SLUG))
    assert {name: roles[name] for name in (ANNOTATOR, REVIEWER, LEAD)} == {
        ANNOTATOR: ANNOTATOR,
        REVIEWER: REVIEWER,
        LEAD: LEAD,
    }


def test_staff_manage_memberships_in_the_admin(client, django_user_model, project):
    admin = django_user_model.objects.create_superuser("root", password="x")
    membership_set(project=project, user=admin, role=LEAD)
    client.force_login(admin)
    assert client.get(reverse("admin:labeling_membership_changelist")).status_code == 200
    page = client.get(reverse("admin:labeling_project_change", args=[project.pk])).content.decode()
    assert "memberships-TOTAL_FORMS" in page
    assert Membership.objects.filter(project=project).count() == 1
