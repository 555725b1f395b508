"""API token authentication: django-rest-knox's hashed tokens, plus their scope."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS

from exchange.models import ApiTokenScope


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <secret>``. An unknown, expired or revoked token is a 401; a
    read-scope token asking for anything but GET, HEAD or OPTIONS is a 403 before the view
    runs, whichever view it is (so no endpoint can forget the check)."""

    def authenticate_credentials(self, token: bytes):
        """The token whose digest this secret hashes to, with its user: one indexed query
        (knox's own reads every token of the user on every request to delete expired
        ones; ``api_token_create`` deletes those). An expired token is deleted and a 401."""
        try:
            secret = token.decode("utf-8")
            digest = hash_token(secret)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        found = (
            get_token_model()
            .objects.select_related("user")
            .filter(token_key=secret[: CONSTANTS.TOKEN_KEY_LENGTH], digest=digest)
            .first()
        )
        if found is None or not compare_digest(digest, found.digest):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if found.expiry is not None and found.expiry < timezone.now():
            found.delete()
            raise exceptions.AuthenticationFailed("Invalid token.")
        if knox_settings.AUTO_REFRESH and found.expiry:
            self.renew_token(found)
        return self.validate_user(found)

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if token.scope != ApiTokenScope.WRITE and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(
                {
                    "scope": [
                        f"this token's scope is {token.scope}: it may only read"
                        " (GET, HEAD, OPTIONS); use a write-scope token"
                    ],
                    "code": "token_scope",
                }
            )
        return user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The schema's name for it: ``Authorization: Token <secret>``."""

    target_class = "exchange.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
