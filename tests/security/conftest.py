"""The security suite's world is built once per test module and committed (hundreds of requests read
it; each test's own writes still roll back), then flushed so no later test sees it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.security.world import World, world_build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    with django_db_blocker.unblock():
        built = world_build()
    yield built
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def as_person(client, world):
    """as_person(person) is the test client logged in as that person (anonymous: not logged in)."""

    def login(person: str):
        user = world.user(person)
        if user is not None:
            client.force_login(user)
        return client

    return login
