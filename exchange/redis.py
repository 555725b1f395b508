"""One Redis client per process for the seed's key schema, locks and counters.

Redis is a cache here: every caller must survive a ``redis.RedisError`` (the database
holds the truth and ``rebuild_redis`` restores the keys).
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        decode_responses=True,
        health_check_interval=30,
    )
