"""The signature header: ``X-Exchange-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256 with the endpoint's secret over ``f"{t}.{body}"`` (body: the raw bytes)."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Exchange-Signature"
TOLERANCE_SECONDS = 300


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(*, secret: str, body: bytes, header: str, now: int | None = None) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse old timestamps."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((int(time.time()) if now is None else now) - t) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret=secret, body=body, timestamp=t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
