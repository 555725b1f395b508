"""The fault scenarios on RabbitMQ, with the queues split across two worker machines.

The same engine, its broker switched to RabbitMQ (``tests.brokers``): one worker process
named as machine A takes ``transactions``, another named as machine B takes
``scheduled``, ``rates`` and ``webhooks``. A worker killed mid-payout, a beat killed and two
beats at once: every payout reaches the chain exactly once (read from the nodes), and every
schedule is sent and run once.

Here the payouts are never swept: a killed step comes back only because RabbitMQ hands an
unacknowledged message to a consumer again (at once when its worker's connection closes,
or when the pool process running it dies and the worker rejects it). A step acknowledged
early would be lost, and the test would time out on it.
"""

from __future__ import annotations

import re
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from devtools.processes import Process, wait_until
from exchange.beat import LEADER_KEY
from exchange.celery import DATABASE_TRANSIENT
from exchange.faults import fault_arm, fault_disarm, fault_log
from exchange.redis import get_redis
from funding.models import FundingState
from tests.books import measured
from tests.brokers import RABBITMQ_URL, broker_switched, rabbitmq_vhost_fresh
from tests.chain import mine
from tests.faults.test_payout_crashes import POINTS, Jobs, _account_of, _final, escrow_many
from tests.processes import launcher
from wallets.clients.base import RetryLater
from wallets.services import deposits_scan

MACHINES = {
    # name: (queues, the machine its node name says it runs on)
    "payouts": ("transactions", "machine-a"),
    "routine": ("scheduled,rates,webhooks", "machine-b"),
}
# The kills of one payout: the whole worker after the build (its connection closes), only
# the pool process after the signature (the worker rejects the message), the whole worker
# after the relay.
SCOPES = {
    "payout.after_build": "worker",
    "payout.after_sign": "task",
    "payout.after_relay": "worker",
}
SCHEDULE = "rabbitmq beat check"


class Machines:
    """The two worker processes; a dead one is started again, as a machine that reboots."""

    def __init__(self):
        self.procs: dict[str, Process] = {name: self._start(name) for name in MACHINES}
        self.restarts = 0

    @staticmethod
    def _start(name: str) -> Process:
        queues, host = MACHINES[name]
        return launcher.start_worker(f"rmq-{name}", queues=queues, host=host)

    def revive(self) -> bool:
        for name, proc in self.procs.items():
            if not proc.alive():
                proc.stop()
                self.restarts += 1
                try:
                    self.procs[name] = self._start(name)
                except RuntimeError:
                    pass  # killed again by a redelivered step before it answered a ping
        return True

    def log_text(self, name: str) -> str:
        return self.procs[name].log_text()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()


def _ready_messages() -> int:
    """The messages waiting in the engine's queues on the broker (not those being run)."""
    from exchange.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        return sum(
            queue.bind(channel).queue_declare(passive=True).message_count
            for queue in app.amqp.queues.values()
        )


@pytest.fixture(scope="module")
def machines(django_db_setup, django_db_blocker, clean_redis):
    rabbitmq_vhost_fresh()
    with broker_switched(RABBITMQ_URL):
        started = Machines()
        yield started
        # What the module's tests started (a pool refill, say) is done on RabbitMQ before
        # the run goes back to Redis; a warm shutdown finishes the steps being run.
        wait_until(lambda: _ready_messages() == 0, timeout=60, what="RabbitMQ's queues empty")
        started.stop()


def _step_without_sweep() -> bool:
    """A block on each chain and a scan of each; the payout sweep never runs."""
    for chain in ("bitcoin", "monero"):
        mine(chain)
        try:
            deposits_scan(chain=chain)
        except (RetryLater, *DATABASE_TRANSIENT):
            pass  # the next step scans again
    return True


def test_on_rabbitmq_a_worker_killed_mid_payout_pays_each_release_exactly_once(
    buyer, vendor, machines, proof
):
    jobs = Jobs()
    orders = {currency: escrow_many(buyer, vendor, currency, 1) for currency in ("BTC", "XMR")}
    fault_log(clear=True)
    for point in POINTS:
        fault_arm(point, scope=SCOPES[point], each=True)
    try:
        for currency, made in orders.items():
            for order in made:
                jobs.expect(currency, _account_of(order), vendor.receivers[currency].address)
                jobs.orders[order["id"]] = FundingState.COMPLETED
                buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
        wait_until(
            lambda: machines.revive() and _step_without_sweep() and _final(jobs),
            timeout=300,
            interval=0.5,
            what="every release completed through RabbitMQ's redeliveries alone",
        )
    finally:
        for point in POINTS:
            fault_disarm(point)
        machines.revive()
    kills = fault_log()
    figures = {"expected": 0, "made": 0, "duplicated": 0, "lost": 0}
    for chain, expected in jobs.expected.items():
        for key, value in measured(chain, expected).items():
            figures[key] += value
    proof.update(
        scenario="RabbitMQ, queues on two worker machines: escrow releases, the worker "
        "killed at every payout step, both chains",
        injected=f"{len(kills)} kills ({machines.restarts} worker restarts)",
        **figures,
    )
    assert figures["made"] == figures["expected"] == len(jobs.orders)
    assert figures["duplicated"] == figures["lost"] == 0
    assert {entry.split()[0] for entry in kills} == set(POINTS)


def test_on_rabbitmq_a_countdown_waits_in_the_broker_and_reaches_the_other_machine(machines):
    """A retry's backoff is a countdown: it waits in the broker's delayed-delivery queues
    (quorum queues give a worker no room to hold it) and is then run on machine B."""
    from exchange.tasks import heartbeat_task

    before = frozenset(_runs(machines))
    sent = time.monotonic()
    result = heartbeat_task.apply_async(kwargs={"queue": "scheduled"}, countdown=3)
    received = f"Task exchange.heartbeat[{result.id}] received"
    wait_until(lambda: received in machines.log_text("routine"), timeout=60, what="delivery")
    # Held by a worker, it would have been received at once and run when due.
    assert time.monotonic() - sent >= 2.5
    wait_until(
        lambda: result.id in _runs(machines, since=before), timeout=30, what="the delayed run"
    )


def _every(seconds: int) -> None:
    every, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SCHEDULE,
        defaults={
            "task": "exchange.heartbeat",
            "interval": every,
            "queue": "scheduled",
            "kwargs": '{"queue": "scheduled"}',
            "enabled": True,
        },
    )


def _sends(beat: Process) -> int:
    return beat.log_text().count(f"Sending due task {SCHEDULE}")


def _runs(machines: Machines, *, since: frozenset[str] = frozenset()) -> list[str]:
    """The ids of the heartbeats machine B ran, one per run (but those in ``since``)."""
    text = machines.log_text("routine")
    found = re.findall(r"Task exchange\.heartbeat\[([0-9a-f-]+)\] succeeded", text)
    return [task_id for task_id in found if task_id not in since]


@pytest.fixture
def schedule(live_db):
    """A heartbeat schedule, the only one enabled while the test runs (the engine's own
    heartbeat schedules, written by earlier tests, would run on machine B too); the beats
    of earlier tests are gone, their leader lock too."""
    get_redis().delete(LEADER_KEY)
    others = list(
        PeriodicTask.objects.exclude(name=SCHEDULE)
        .filter(enabled=True)
        .values_list("id", flat=True)
    )
    PeriodicTask.objects.filter(id__in=others).update(enabled=False)
    yield _every
    PeriodicTask.objects.filter(name=SCHEDULE).delete()
    PeriodicTask.objects.filter(id__in=others).update(enabled=True)


def test_on_rabbitmq_two_beats_send_each_schedule_once_and_it_runs_once(machines, schedule):
    schedule(2)
    before = frozenset(_runs(machines))
    first, second = launcher.start_beat("rmq-beat-a"), launcher.start_beat("rmq-beat-b")
    try:
        time.sleep(11)
    finally:
        first.stop()
        second.stop()
    sends = sorted([_sends(first), _sends(second)])
    assert sends[0] == 0, "the second beat must not send"
    assert 2 <= sends[1] <= 6, sends  # ~11 s at one per 2 s, less start-up
    runs = wait_until(
        lambda: len(r := _runs(machines, since=before)) >= sends[1] and r,
        timeout=30,
        what="the runs",
    )
    assert len(runs) == len(set(runs)) == sends[1]


def test_on_rabbitmq_a_beat_killed_is_replaced_by_its_standby_and_nothing_runs_twice(
    machines, schedule
):
    schedule(1)
    before = frozenset(_runs(machines))
    ttl = "3"  # the leader lock: a standby takes over within this many seconds
    beats = [launcher.start_beat(f"rmq-beat-{n}", BEAT_LOCK_TTL_SECONDS=ttl) for n in "cd"]
    try:
        leader = wait_until(
            lambda: next((b for b in beats if _sends(b) >= 2), None),
            timeout=60,
            what="a beat to lead",
        )
        standby = next(b for b in beats if b is not leader)
        leader.kill()
        killed_at = time.monotonic()
        wait_until(lambda: _sends(standby) >= 3, timeout=30, what="the standby to take over")
        took_over_in = time.monotonic() - killed_at
    finally:
        for beat in beats:
            beat.stop()
    sent = sum(_sends(b) for b in beats)
    runs = wait_until(
        lambda: len(r := _runs(machines, since=before)) >= sent - 1 and r,
        timeout=30,
        what="the runs",
    )
    assert took_over_in < 3 + 10, took_over_in
    # Each task sent runs once; the leader may die between its log line and the send.
    assert len(runs) == len(set(runs))
    assert sent - 1 <= len(runs) <= sent
