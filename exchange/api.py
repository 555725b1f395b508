"""The API root, the one exception handler every endpoint shares, and the request its
signed-in views are given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from exchange.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class SignedInRequest(Request):
    """The request of a view that only signed-in users reach (``IsAuthenticated``, the
    API's default permission): its user is a saved one, never the anonymous user. For
    annotations only; DRF builds the request."""

    user: User


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    if isinstance(exc, ApplicationError):
        body = {"message": exc.message, "code": exc.code, "extra": exc.extra}
        if exc.field:
            body = {exc.field: [exc.message], **body}
        response = Response(body, status=exc.status_code)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    return drf_exception_handler(exc, context)


class ApiRoot(APIView):
    """Entry points of the API."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, format=None):  # noqa: A002 - DRF's signature
        return Response(
            {
                "schema": reverse("schema", request=request, format=format),
                "docs": reverse("swagger-ui", request=request, format=format),
                "health": request.build_absolute_uri("/healthz"),
            }
        )
