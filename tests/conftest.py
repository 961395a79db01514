"""Named users shared by the tests (an annotator, a reviewer, a lead and an outsider), and the
service checks: with REQUIRE_SERVICES=1, a missing PostgreSQL or broker fails the run."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db.models.signals import post_save

from labeling.models import Project
from labeling.roles import ANNOTATOR, LEAD, REVIEWER, membership_set

PASSWORD = "correct horse battery staple"


def _require_services() -> None:
    problems = []
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        problems.append("DATABASE_URL does not point at PostgreSQL")
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://")):
        problems.append("CELERY_BROKER_URL does not point at Redis or RabbitMQ")
    else:
        from config.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=2)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the broker is the message
            problems.append(f"the broker at {settings.CELERY_BROKER_URL} is unreachable: {exc}")
    if problems:
        pytest.exit("REQUIRE_SERVICES=1 but " + "; ".join(problems), returncode=3)


def pytest_configure(config) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        _require_services()


@pytest.fixture
def postgres_db(transactional_db):
    """For tests that need PostgreSQL itself (row locks, real concurrency): skipped on SQLite, and a
    failure there with REQUIRE_SERVICES=1."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        message = "needs PostgreSQL (set DATABASE_URL=postgres://…)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def role_in_every_project(db):
    """role_in_every_project(user, role): the user holds `role` in every project, those there now and
    those the test creates later, as the upgrade migration gives every user their old global role.
    For the tests of one project's pages; tests/security builds per-project memberships itself."""
    held: dict = {}

    def grant_in_new_project(sender, instance, created, **kwargs):
        if created:
            for user, role in held.values():
                membership_set(project=instance, user=user, role=role)

    post_save.connect(grant_in_new_project, sender=Project, dispatch_uid="tests-role-in-every-project")

    def grant(user, role: str) -> None:
        held[user.pk] = (user, role)
        for project in Project.objects.all():
            membership_set(project=project, user=user, role=role)

    yield grant
    post_save.disconnect(sender=Project, dispatch_uid="tests-role-in-every-project")


@pytest.fixture
def make_user(django_user_model, role_in_every_project):
    def make(username: str, *roles: str):
        user = django_user_model.objects.create_user(username=username, password=PASSWORD)
        for role in roles:
            role_in_every_project(user, role)
        return user

    return make


@pytest.fixture
def annotator(make_user):
    return make_user("alice", ANNOTATOR)


@pytest.fixture
def reviewer(make_user):
    return make_user("bob", REVIEWER)


@pytest.fixture
def lead(make_user):
    return make_user("carol", LEAD)


@pytest.fixture
def outsider(make_user):
    """Logged in, but holds no role."""
    return make_user("mallory")


@pytest.fixture
def project(db):
    return Project.objects.create(
        name="Web relevance",
        slug="web",
        rubric="How well does the document answer the query?",
        scale_min=1,
        scale_max=5,
        scale_descriptions={"1": "Irrelevant", "5": "Perfect answer"},
    )


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def eager_celery():
    """Tasks run inline, in the test's transaction: for unit tests of what a task does."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def demo_project(db):
    """The generated demo project (280 items, three annotators' labels, sim endpoints, a baseline prompt)."""
    from judging.demo import demo_seed

    return demo_seed().project


# The browser fixtures, registered here once for every test folder that drives Chromium.
from tests.browser import browser, log_in, page  # noqa: E402, F401
