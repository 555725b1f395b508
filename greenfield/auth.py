"""``Authorization: token <API key>``: Greenfield's API key authentication.

Only API keys: BTCPay's Basic authentication (a user's password on every call) is not
offered, and neither is the engine's own ``Token`` (knox) scheme under /api/v1/. A missing,
unknown, revoked or malformed key, or another scheme, is a 401 ``unauthenticated``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from greenfield.errors import unauthenticated
from stores.models import ApiKey
from stores.services import api_key_authenticate

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SCHEME = "token"


def presented_key(request: Request) -> str:
    """The key as the request presents it (``Authorization: token <key>``), or ""."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == SCHEME else ""


class GreenfieldKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = request.headers.get("Authorization", "").strip()
        if not header:
            return None
        scheme = header.partition(" ")[0].lower()
        if scheme != SCHEME:
            raise unauthenticated(
                f"The {scheme!r} scheme is not accepted here: use 'Authorization: token <API key>'"
            )
        key = api_key_authenticate(plaintext=presented_key(request))
        if key is None:
            raise unauthenticated("The API key is unknown or revoked")
        return key.owner, key

    def authenticate_header(self, request: Request) -> str:
        return SCHEME
