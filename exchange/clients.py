"""Who is asking: one key per client, for the limits that hold per client.

A signed-in caller is its user; an anonymous one is its address as the throttles see it
(the connection's address, or the one the trusted proxies report: TRUSTED_PROXIES).
"""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """The client's address as the throttles see it."""
    return BaseThrottle().get_ident(request)


def client_key(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"anon:{client_address(request)}"
