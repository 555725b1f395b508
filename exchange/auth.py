"""API token authentication: django-rest-knox's hashed tokens, plus their scope."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS

from exchange.models import ApiTokenScope


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <secret>``. An unknown, expired or revoked token is a 401; a
    read-scope token asking for anything but GET, HEAD or OPTIONS is a 403 before the view
    runs, whichever view it is (so no endpoint can forget the check)."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)

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
