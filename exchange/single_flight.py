"""Periodic tasks tolerate overlap: a run that finds the previous one still going skips."""

from __future__ import annotations

import functools
import logging
import uuid

import redis

from exchange.redis import get_redis

logger = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def single_flight(name: str, *, ttl: int = 600):
    """Run the decorated function only if no other run of ``name`` holds the Redis lock;
    otherwise return None at once. Without Redis the function runs (the work itself is
    safe to run twice; the lock only saves duplicate effort)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            token = uuid.uuid4().hex
            key = f"single-flight:{name}"
            try:
                if not get_redis().set(key, token, nx=True, ex=ttl):
                    logger.info("%s: previous run still going, skipped", name)
                    return None
            except redis.RedisError:
                return fn(*args, **kwargs)
            try:
                return fn(*args, **kwargs)
            finally:
                try:
                    get_redis().eval(_RELEASE, 1, key, token)
                except redis.RedisError:
                    pass

        return wrapper

    return decorate
