"""Every periodic task of the engine, in one list.

``manage.py setup_periodic_tasks`` writes them as django-celery-beat entries (staff edit
them in the admin afterwards; ``--reset`` puts the defaults back). Each task they name is
safe to run twice and tolerates overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    queue: str
    kwargs: dict = field(default_factory=dict)
    description: str = ""


def _heartbeat(queue: str) -> Schedule:
    return Schedule(
        name=f"heartbeat: {queue} queue",
        task="exchange.heartbeat",
        every_seconds=15,
        queue=queue,
        kwargs={"queue": queue},
        description=f"Proves a worker consumes the {queue} queue (read by /healthz).",
    )


SCHEDULES: list[Schedule] = [
    *(_heartbeat(queue) for queue in settings.CELERY_QUEUES),
    Schedule(
        name="deposit scan: bitcoin",
        task="wallets.deposits_scan",
        every_seconds=180,
        queue="scheduled",
        kwargs={"chain": "bitcoin"},
        description="Safety net behind the push path: records and confirms BTC deposits.",
    ),
    Schedule(
        name="deposit scan: monero",
        task="wallets.deposits_scan",
        every_seconds=180,
        queue="scheduled",
        kwargs={"chain": "monero"},
        description="Safety net behind the push path: records, confirms, unlocks XMR deposits.",
    ),
    Schedule(
        name="balance sync: bitcoin",
        task="wallets.balances_sync",
        every_seconds=300,
        queue="scheduled",
        kwargs={"chain": "bitcoin"},
        description="Every BTC account's node balance and its drift from the books.",
    ),
    Schedule(
        name="balance sync: monero",
        task="wallets.balances_sync",
        every_seconds=300,
        queue="scheduled",
        kwargs={"chain": "monero"},
        description="Every XMR account's node balance and its drift from the books.",
    ),
    Schedule(
        name="account pool check",
        task="wallets.pool_check",
        every_seconds=60,
        queue="scheduled",
        description="Asks for a refill of any chain whose pool of deposit accounts is low.",
    ),
    Schedule(
        name="payout sweep",
        task="wallets.payouts_sweep",
        every_seconds=60,
        queue="scheduled",
        description="Re-enqueues waiting payouts and relays again those the chain has not shown.",
    ),
    Schedule(
        name="order expiry",
        task="orders.expire",
        every_seconds=60,
        queue="scheduled",
        description="Expires unpaid orders and retires accounts after the late-deposit window.",
    ),
    Schedule(
        name="rate refresh",
        task="rates.refresh",
        every_seconds=900,
        queue="rates",
        description="Asks every configured rate provider and stores the agreed XMR/BTC rate.",
    ),
    Schedule(
        name="invoice expiry",
        task="invoices.expire",
        every_seconds=60,
        queue="scheduled",
        description="Expires unpaid invoices and those that did not confirm in their window.",
    ),
    Schedule(
        name="swap expiry",
        task="swaps.expire",
        every_seconds=60,
        queue="scheduled",
        description="Expires unpaid swaps and frees the liquidity they reserved.",
    ),
    Schedule(
        name="recovery sweep",
        task="operations.recovery_sweep",
        every_seconds=120,
        queue="scheduled",
        description="Enqueues the next step of every order, swap and payout gone quiet "
        "(a lost broker message delays work, never loses it) and restores Redis keys.",
    ),
    Schedule(
        name="reconcile",
        task="operations.reconcile",
        every_seconds=600,
        queue="scheduled",
        description="Compares the books with the nodes and stores the result (admin, /metrics).",
    ),
    Schedule(
        name="webhook retries",
        task="webhooks.retry_due",
        every_seconds=60,
        queue="scheduled",
        description="Enqueues webhook deliveries whose retry is due (a lost message loses none).",
    ),
    Schedule(
        name="purge: old quotes",
        task="swaps.quotes_purge",
        every_seconds=3600,
        queue="scheduled",
        description="Deletes quotes expired a day ago that made no swap (quotes reserve nothing).",
    ),
    Schedule(
        name="purge: old idempotency keys",
        task="exchange.idempotency_keys_purge",
        every_seconds=3600,
        queue="scheduled",
        description="Deletes idempotency keys past IDEMPOTENCY_KEY_TTL_SECONDS.",
    ),
    Schedule(
        name="monero account labels",
        task="wallets.label_accounts",
        every_seconds=30,
        queue="transactions",
        description="Tags newly assigned Monero accounts order_{id} / swap_{id} on the node.",
    ),
]
