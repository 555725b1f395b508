"""Reads of stores and keys: whose they are and which a Greenfield key may reach."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F, QuerySet

from stores import permissions
from stores.models import ApiKey, Store
from stores.services import api_key_allows

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def stores_of(*, owner: User) -> QuerySet[Store]:
    return Store.objects.filter(owner=owner).order_by("created_at", "id")


def api_keys_of(*, owner: User) -> QuerySet[ApiKey]:
    """The owner's keys, the live ones first, newest first."""
    return ApiKey.objects.filter(owner=owner).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )


def _reaches(key: ApiKey, store: Store) -> bool:
    """Does any permission of ``key`` apply to ``store`` at all (whatever its policy)?"""
    for text in key.permissions:
        held = permissions.parse(text)
        if held is not None and held.store_id in (None, store.public_id):
            return True
    return False


def store_for_key(*, key: ApiKey, store_id: str) -> Store | None:
    """The store ``store_id`` if ``key`` reaches it: one of its owner's, named by one of its
    permissions or by an unscoped one. None otherwise, alike for a store that does not exist
    and for one the key cannot see, so store ids cannot be found by trying them."""
    if not key.active:
        return None
    store = Store.objects.filter(public_id=store_id, owner_id=key.owner_id).first()
    if store is None or not _reaches(key, store):
        return None
    return store


def stores_for_key(*, key: ApiKey, permission: str) -> list[Store]:
    """The stores of the key's owner on which ``key`` may do ``permission``."""
    return [
        store
        for store in stores_of(owner=key.owner)
        if api_key_allows(key=key, permission=permission, store=store)
    ]
