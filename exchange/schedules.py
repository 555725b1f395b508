"""Every periodic task of the engine, in one list.

``manage.py setup_periodic_tasks`` writes them as django-celery-beat entries (staff edit
them in the admin afterwards; ``--reset`` puts the defaults back). Each task they name is
safe to run twice and tolerates overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    queue: str
    kwargs: dict = field(default_factory=dict)
    description: str = ""


SCHEDULES: list[Schedule] = [
    Schedule(
        name="heartbeat: transactions queue",
        task="exchange.heartbeat",
        every_seconds=15,
        queue="transactions",
        kwargs={"queue": "transactions"},
        description="Proves a worker consumes the transactions queue (read by /healthz).",
    ),
    Schedule(
        name="heartbeat: scheduled queue",
        task="exchange.heartbeat",
        every_seconds=15,
        queue="scheduled",
        kwargs={"queue": "scheduled"},
        description="Proves a worker consumes the scheduled queue (read by /healthz).",
    ),
    Schedule(
        name="heartbeat: rates queue",
        task="exchange.heartbeat",
        every_seconds=15,
        queue="rates",
        kwargs={"queue": "rates"},
        description="Proves a worker consumes the rates queue (read by /healthz).",
    ),
]
