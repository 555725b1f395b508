"""Which Greenfield permission a view needs, checked against the key and the store its
URL names (``storeId``).

``requires(CAN_VIEW_INVOICES)`` is a DRF permission class. On a view with a store in its
URL it finds the store the key reaches (``stores.selectors.store_for_key``) and puts it on
the view as ``view.store``: a store that does not exist and one the key may not see are
both 404 ``store-not-found``, so ids cannot be found by trying; a store the key sees but
without that permission is 403 ``missing-permission``. On a view without a store the key
must hold the permission for some store; the view lists which.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from greenfield.errors import missing_permission, store_not_found, unauthenticated
from stores.models import ApiKey
from stores.selectors import store_for_key
from stores.services import api_key_allows

STORE_KWARG = "store_id"


def key_of(request: Request) -> ApiKey:
    """The request's API key; a 401 if it has none."""
    key = request.auth
    if not isinstance(key, ApiKey):
        raise unauthenticated()
    return key


class KeyRequired(BasePermission):
    """Any valid API key, whatever it may do (server info, the key itself)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key_of(request)
        return True


def requires(permission: str) -> type[BasePermission]:
    class Requires(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            key = key_of(request)
            store_id = view.kwargs.get(STORE_KWARG)
            if store_id is None:
                if not api_key_allows(key=key, permission=permission, store=None):
                    raise missing_permission(permission)
                return True
            store = store_for_key(key=key, store_id=store_id)
            if store is None:
                raise store_not_found()
            if not api_key_allows(key=key, permission=permission, store=store):
                raise missing_permission(permission)
            view.store = store
            return True

    Requires.__name__ = f"Requires({permission})"
    return Requires
