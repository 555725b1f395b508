"""Request latency into the shared metrics, and a request id in every log line."""

from __future__ import annotations

import time
import uuid

import structlog

from exchange.metrics import metric_observe_ms


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16],
            path=request.path,
        )
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match and match.route else "unmatched"
        if request.path.startswith("/admin/"):
            route = "admin"
        metric_observe_ms(
            "http_request",
            {
                "method": request.method,
                "route": route,
                "status": f"{response.status_code // 100}xx",
            },
            (time.monotonic() - started) * 1000,
        )
        return response
