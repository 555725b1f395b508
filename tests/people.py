"""Users of the API in tests: each with a client authenticated by a write-scope token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from exchange.models import ApiTokenScope
from exchange.services import api_token_create


@dataclass
class Person:
    user: object
    api: APIClient


def make_person(*, staff: bool = False, roles: tuple[str, ...] | None = None) -> Person:
    """A user with an API client authenticated by their token. Staff get the ``payments``
    role (staff.roles) unless ``roles`` names others. No password: hashing one costs
    ~0.6 s here, and tests sign in with their token or ``force_login`` (``password_set``
    for the few that type one)."""
    user = get_user_model().objects.create_user(
        username=f"p-{uuid.uuid4().hex[:10]}", password=None, is_staff=staff
    )
    if roles is None:
        roles = ("payments",) if staff else ()
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    _, secret = api_token_create(user=user, name="tests", scope=ApiTokenScope.WRITE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return Person(user, api)


def password_set(person: Person) -> str:
    """Give ``person`` a fresh password and return it (for a test that signs in through
    the login form)."""
    password = uuid.uuid4().hex
    person.user.set_password(password)
    person.user.save(update_fields=["password"])
    return password
