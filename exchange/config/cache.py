"""Redis: its address, and Django's cache on it (a cache the database can rebuild).

The same Redis holds the locks and the seed's key schema, and is Celery's broker unless
CELERY_BROKER_URL names another (``exchange.config.workers``). ``exchange.settings``
imports every name here.
"""

from __future__ import annotations

from exchange.config.env import env

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            # A dead Redis must not take the API down: the DB is the source of truth.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
