import hmac

from django.conf import settings
from rest_framework import permissions


def is_operator(request) -> bool:
    """A staff session, or ``Authorization: Bearer $METRICS_TOKEN`` (what monitoring such
    as Prometheus sends): who may read /metrics and the detail of /healthz."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


class SwapsOpen(permissions.BasePermission):
    """Anyone when the operator allows anonymous swaps (SWAPS_ALLOW_ANONYMOUS), else users."""

    def has_permission(self, request, view) -> bool:
        return settings.SWAPS_ALLOW_ANONYMOUS or bool(
            request.user and request.user.is_authenticated
        )
