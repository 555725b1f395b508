"""The API's throttles on the pages that write: the same rates, the same client identity."""

from __future__ import annotations

import functools

from django.http import HttpResponse
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def throttled(view):
    """Apply THROTTLE_USER / THROTTLE_ANON to a view's POSTs (429 with Retry-After)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            user = getattr(request, "user", None)
            signed_in = user is not None and user.is_authenticated
            throttle = UserRateThrottle() if signed_in else AnonRateThrottle()
            if not throttle.allow_request(request, None):
                wait = throttle.wait()
                response = HttpResponse(
                    "Too many requests: try again shortly.\n",
                    status=429,
                    content_type="text/plain",
                )
                if wait is not None:
                    response["Retry-After"] = str(max(1, int(wait)))
                return response
        return view(request, *args, **kwargs)

    return wrapper
