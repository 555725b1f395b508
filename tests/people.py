"""Users of the API in tests: each with a token-authenticated client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@dataclass
class Person:
    user: object
    api: APIClient


def make_person(*, staff: bool = False) -> Person:
    """A user with an API client authenticated by their token."""
    user = get_user_model().objects.create_user(
        username=f"p-{uuid.uuid4().hex[:10]}", password="x", is_staff=staff
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return Person(user, api)
