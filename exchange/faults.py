"""Crash injection for the fault suite: named points where a worker can be made to die.

Off unless FAULT_INJECTION is set (never in production). When on, ``fault_point(name)``
consumes the one-shot Redis key ``fault:{name}`` if a test armed it and then kills the
whole worker (its process group) with SIGKILL: no cleanup, no acknowledgement, exactly
as a crash.
"""

from __future__ import annotations

import os
import signal

from django.conf import settings


def fault_arm(name: str) -> None:
    from exchange.redis import get_redis

    get_redis().set(f"fault:{name}", 1, ex=600)


def fault_point(name: str) -> None:
    if not settings.FAULT_INJECTION:
        return
    from exchange.redis import get_redis

    if get_redis().getdel(f"fault:{name}"):
        os.killpg(os.getpgid(0), signal.SIGKILL)
