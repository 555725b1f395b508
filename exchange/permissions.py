from django.conf import settings
from rest_framework import permissions


class SwapsOpen(permissions.BasePermission):
    """Anyone when the operator allows anonymous swaps (SWAPS_ALLOW_ANONYMOUS), else users."""

    def has_permission(self, request, view) -> bool:
        return settings.SWAPS_ALLOW_ANONYMOUS or bool(
            request.user and request.user.is_authenticated
        )
