"""Metrics shared by every process through Redis, exposed at /metrics (Prometheus format).

Counters and the request-latency histogram live in Redis hashes so that the gunicorn
workers, Celery workers and beat add to the same series; gauges (queue depths, node
heights, pools, drift, webhooks) are read when /metrics is scraped. Recording never fails
the caller: a Redis error drops the sample. A wiped Redis resets the counters, which
Prometheus reads as a counter reset.
"""

from __future__ import annotations

import json
import logging

import redis
from prometheus_client import Counter

from exchange.redis import get_redis

logger = logging.getLogger(__name__)

# Per-process counter kept for tests and benchmarks in the same process.
NODE_CALLS = Counter("exchange_node_calls_total", "Calls made to a node", ["chain", "method"])

LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
PREFIX = "metrics:"


def _field(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def metric_incr(name: str, labels: dict[str, str], by: int = 1) -> None:
    try:
        get_redis().hincrby(f"{PREFIX}{name}", _field(labels), by)
    except redis.RedisError:
        pass


def metric_observe_ms(name: str, labels: dict[str, str], milliseconds: float) -> None:
    """One observation of a latency histogram (integer microseconds in the sum)."""
    field = _field(labels)
    bucket = next((b for b in LATENCY_BUCKETS_MS if milliseconds <= b), "+Inf")
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hincrby(f"{PREFIX}{name}:bucket:{bucket}", field, 1)
        pipe.hincrby(f"{PREFIX}{name}:sum_us", field, int(milliseconds * 1000))
        pipe.hincrby(f"{PREFIX}{name}:count", field, 1)
        pipe.execute()
    except redis.RedisError:
        pass


def metric_read(name: str) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in get_redis().hgetall(f"{PREFIX}{name}").items()}
    except redis.RedisError:
        return {}


def labels_of(field: str) -> dict[str, str]:
    return json.loads(field)
