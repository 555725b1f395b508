"""Merchants in tests: a user with stores, Greenfield API keys, and a client using a key."""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from stores.models import ApiKey, Store
from stores.services import api_key_create, store_create


def make_merchant():
    """A user without a password (tests sign in with ``force_login`` or a key)."""
    return get_user_model().objects.create_user(
        username=f"m-{uuid.uuid4().hex[:10]}", password=None
    )


def make_store(owner, **settings) -> Store:
    return store_create(owner=owner, name=settings.pop("name", "Shop"), **settings)


def greenfield(plaintext: str | None = None) -> APIClient:
    """An API client sending ``Authorization: token <plaintext>`` (none without one)."""
    api = APIClient()
    if plaintext is not None:
        api.credentials(HTTP_AUTHORIZATION=f"token {plaintext}")
    return api


def key_for(owner, *permissions: str, label: str = "shop") -> tuple[ApiKey, APIClient]:
    """A key of ``owner`` with ``permissions``, and a client that uses it."""
    key, plaintext = api_key_create(owner=owner, label=label, permissions=list(permissions))
    key.plaintext = plaintext  # for the test only: the row never holds it
    return key, greenfield(plaintext)
