"""Greenfield's error answers, as BTCPay Server gives them.

A request that fails validation is a 422 whose body is a JSON array of
``{"path": ..., "message": ...}`` (``GreenfieldValidationError``); any other error is
``{"code": ..., "message": ...}`` (``GreenfieldAPIError``) with BTCPay's codes:
``unauthenticated`` (401), ``missing-permission`` (403, with ``missingPermission``),
``store-not-found`` (404) and so on. One exception handler makes both from DRF's
exceptions and the domain's ``ApplicationError``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from exchange.errors import ApplicationError, ServiceUnavailable


class GreenfieldError(exceptions.APIException):
    """An error answered as ``{"code", "message", **extra}``."""

    def __init__(self, status_code: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.extra = extra


def unauthenticated(
    message: str = "Authentication is required for accessing this endpoint",
) -> GreenfieldError:
    return GreenfieldError(status.HTTP_401_UNAUTHORIZED, "unauthenticated", message)


def missing_permission(permission: str) -> GreenfieldError:
    return GreenfieldError(
        status.HTTP_403_FORBIDDEN,
        "missing-permission",
        f'Insufficient API Permissions. Please use an API key with permission "{permission}".'
        " You can create an API key in your account's settings / API keys.",
        missingPermission=permission,
    )


def store_not_found() -> GreenfieldError:
    return GreenfieldError(status.HTTP_404_NOT_FOUND, "store-not-found", "Store not found")


def not_found() -> GreenfieldError:
    return GreenfieldError(status.HTTP_404_NOT_FOUND, "not-found", "Not found")


def camel(name: str) -> str:
    """``invoice_expiration`` → ``invoiceExpiration``: paths name fields as clients send them."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def validation_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail as Greenfield's flat list, each with its JSON path
    (``checkout.speedPolicy``, ``metadata.items[0].name``)."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else camel(str(key))
            errors += validation_errors(value, f"{path}.{name}" if path and name else path or name)
        return errors
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"path": path, "message": str(item)} for item in detail]
        errors = []
        for index, item in enumerate(detail):
            errors += validation_errors(item, f"{path}[{index}]")
        return errors
    return [{"path": path, "message": str(detail)}]


def _error(status_code: int, code: str, message: str, **extra: Any) -> Response:
    return Response({"code": code, "message": message, **extra}, status=status_code)


def _dashed(code: str) -> str:
    return code.replace("_", "-")


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every Greenfield view's exceptions as Greenfield's error answers; anything else
    (a bug) is left to Django, which logs it and answers 500. A 401 says which scheme
    would do (``WWW-Authenticate: token``)."""
    response = _answer(exc)
    if response is not None and response.status_code == 401:
        response["WWW-Authenticate"] = "token"
    return response


def _answer(exc: Exception) -> Response | None:
    if isinstance(exc, GreenfieldError):
        return _error(exc.status_code, exc.code, exc.message, **exc.extra)
    if isinstance(exc, ApplicationError):
        if exc.status_code == status.HTTP_400_BAD_REQUEST:
            path = camel(exc.field) if exc.field else ""
            return Response([{"path": path, "message": exc.message}], status=422)
        # A transient refusal (no fresh rate, no pooled address) keeps the code the rest
        # of the engine answers it with (``rate_unavailable``): clients retry on it.
        code = exc.code if isinstance(exc, ServiceUnavailable) else _dashed(exc.code)
        response = _error(exc.status_code, code, exc.message)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, exceptions.ValidationError):
        return Response(validation_errors(exc.detail), status=422)
    if isinstance(exc, exceptions.ParseError):
        return Response([{"path": "", "message": str(exc.detail)}], status=422)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return _error(401, "unauthenticated", str(exc.detail))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.Throttled):
        response = _error(429, "rate-limited", str(exc.detail))
        wait = getattr(exc, "wait", None)
        if wait is not None:
            response["Retry-After"] = str(max(1, int(wait)))
        return response
    if isinstance(exc, exceptions.APIException):
        code = exc.default_code if isinstance(exc.default_code, str) else "generic-error"
        return _error(exc.status_code, _dashed(code), str(exc.detail))
    return None
