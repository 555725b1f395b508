"""Two beats started at once send each schedule once per period (the leader lock)."""

from __future__ import annotations

import time

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.processes import launcher

NAME = "two-beats check"


def _sends(proc) -> int:
    return proc.log_text().count(f"Sending due task {NAME}")


def test_two_beats_send_each_schedule_once_per_period(live_db, celery_worker):
    every, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "exchange.heartbeat",
            "interval": every,
            "queue": "scheduled",
            "kwargs": '{"queue": "scheduled"}',
            "enabled": True,
        },
    )
    first, second = launcher.start_beat("beat-a"), launcher.start_beat("beat-b")
    try:
        time.sleep(11)
    finally:
        first.stop()
        second.stop()
        PeriodicTask.objects.filter(name=NAME).delete()

    sends = sorted([_sends(first), _sends(second)])
    assert sends[0] == 0, "the second beat must not send"
    assert 2 <= sends[1] <= 6, sends  # ~11 s at one per 2 s, less start-up
