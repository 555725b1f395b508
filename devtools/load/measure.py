"""A simple latency measure for a test: plain ``requests`` calls, round-robin.

A few requests per second is all a test needs, so no load generator: ``measure`` times
the calls it is given for some seconds and gives their latency percentiles and error
count.
"""

from __future__ import annotations

import time


def measure(session, calls, *, seconds: float) -> dict:
    """Run ``calls`` (functions making one request each with the ``requests.Session``
    ``session``) round-robin for ``seconds``; latency percentiles in ms and the error count."""
    import requests

    latencies, errors, statuses = [], 0, {}
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status = calls[i % len(calls)](session)
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 500:
                errors += 1
        except requests.RequestException:
            errors += 1
        latencies.append((time.monotonic() - started) * 1000)
        i += 1
    latencies.sort()

    def pct(p):
        return (
            round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 1)
            if latencies
            else None
        )

    return {
        "requests": len(latencies),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "errors": errors,
        "statuses": statuses,
    }
