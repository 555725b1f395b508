"""Crash injection for the fault suite: named points where a worker can be made to die.

Off unless FAULT_INJECTION is set (never in production). When on, ``fault_point(name)``
consumes the one-shot Redis key ``fault:{name}`` if a test armed it and then SIGKILLs,
with no cleanup and no acknowledgement, exactly as a crash:
- ``worker`` (the default): the whole worker, its process group, as a crash of the machine
  or of the worker does; the test starts it again;
- ``task``: only the process running the task, as the kernel's OOM killer takes one pool
  process; Celery's parent replaces it and the unacknowledged task is delivered again.

Armed with ``each=True`` the point stays armed and kills once for every subject that
reaches it (every payout, say), or every n-th (``share``), until ``fault_disarm``. Each kill is logged first to the
Redis list ``fault:log`` (``point subject``): the fault suite counts what it injected there.
"""

from __future__ import annotations

import os
import signal

from django.conf import settings


def fault_arm(
    name: str, *, scope: str = "worker", each: bool = False, share: tuple[int, int] = (0, 1)
) -> None:
    """Arm ``name``. With ``each``, ``share=(k, n)`` kills only the subjects whose number
    is k modulo n: three points armed with (0, 3), (1, 3), (2, 3) kill every payout once,
    at one of them."""
    from exchange.redis import get_redis

    if scope not in ("worker", "task"):
        raise ValueError(f"unknown fault scope {scope!r}")
    r = get_redis()
    r.delete(f"fault:seen:{name}")
    value = f"{scope}:each:{share[0]}/{share[1]}" if each else scope
    r.set(f"fault:{name}", value, ex=4 * 3600)


def fault_disarm(name: str) -> None:
    from exchange.redis import get_redis

    get_redis().delete(f"fault:{name}", f"fault:seen:{name}")


def fault_log(*, clear: bool = False) -> list[str]:
    """The kills injected so far (``point subject``), oldest first."""
    from exchange.redis import get_redis

    r = get_redis()
    log = list(r.lrange("fault:log", 0, -1))
    if clear:
        r.delete("fault:log")
    return log


def fault_point(name: str, subject: object = "") -> None:
    if not settings.FAULT_INJECTION:
        return
    from exchange.redis import get_redis

    r = get_redis()
    armed = r.get(f"fault:{name}")
    if not armed:
        return
    scope, _, each = str(armed).partition(":")
    if each:
        k, _, n = each.removeprefix("each:").partition("/")
        if str(subject).isdigit() and int(subject) % int(n or 1) != int(k or 0):
            return
        if not r.sadd(f"fault:seen:{name}", str(subject)):
            return
    elif not r.delete(f"fault:{name}"):
        return
    r.rpush("fault:log", f"{name} {subject}")
    if scope == "task":
        os.kill(os.getpid(), signal.SIGKILL)
    os.killpg(os.getpgid(0), signal.SIGKILL)
