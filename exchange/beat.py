"""The beat scheduler: django-celery-beat's database scheduler behind a leader lock.

Only the beat holding the Redis lock ``beat:leader`` sends schedules, so starting a
second beat by mistake does not send every periodic task twice. The leader renews the
lock on each tick; if it dies, another beat takes over once the lock expires. The leader
also records its liveness for /healthz.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

LEADER_KEY = "beat:leader"
# Renew only if we still hold the lock (compare-and-expire).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class LockedDatabaseScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self._leader_token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._is_leader = False
        self._last_heartbeat = 0.0
        super().__init__(*args, **kwargs)

    def _redis(self) -> redis.Redis:
        from exchange.redis import get_redis

        return get_redis()

    def _hold_leadership(self) -> bool:
        ttl_ms = settings.BEAT_LOCK_TTL_SECONDS * 1000
        try:
            r = self._redis()
            if r.set(LEADER_KEY, self._leader_token, nx=True, px=ttl_ms):
                held = True
            else:
                held = bool(r.eval(_RENEW, 1, LEADER_KEY, self._leader_token, ttl_ms))
        except redis.RedisError as exc:
            logger.warning("beat: cannot reach Redis for the leader lock: %s", exc)
            held = False
        if held != self._is_leader:
            logger.info("beat: %s leadership", "took" if held else "lost")
            self._is_leader = held
        return held

    def tick(self, *args, **kwargs):
        if not self._hold_leadership():
            return min(self.max_interval, 5.0)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.HEARTBEAT_INTERVAL_SECONDS:
            from exchange.services import heartbeat_record

            try:
                heartbeat_record(name="beat")
                self._last_heartbeat = now
            except Exception:  # noqa: BLE001 - liveness must never stop the scheduler
                logger.exception("beat: heartbeat write failed")
        interval = super().tick(*args, **kwargs)
        # Wake up in time to renew the lock.
        return min(interval, settings.BEAT_LOCK_TTL_SECONDS / 3)
