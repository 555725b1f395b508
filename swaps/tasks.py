"""The swaps app's tasks: the saga steps of one swap and the periodic sweeps (expiring
unpaid swaps, deleting quotes that made no swap). Thin: ids in, one service call. All are
safe to run twice.

The swap tasks were registered as ``orders.swap_apply_deposits``, ``orders.swap_advance``
and ``orders.swaps_expire`` before they moved here. A message queued under one of those
names before an upgrade still finds its task: each is registered under its old name too
(``_legacy_tasks``), running the same step.
"""

from __future__ import annotations

from celery import shared_task

from exchange.celery import DATABASE_TRANSIENT, SCHEDULED, TRANSACTIONS
from wallets.locks import LockTimeout


def _step(name: str, service: str):
    """A saga step of one swap: ``swaps.services.<service>(swap_id=id)``, its new state out;
    retried on a lock timeout or a transient database error."""

    @shared_task(name=name, autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS)
    def step(swap_id: int) -> str:
        from swaps import services

        return getattr(services, service)(swap_id=swap_id).state

    return step


def _sweep(name: str, service: str):
    """A periodic sweep: ``swaps.services.<service>()``, how many it moved out."""

    @shared_task(name=name, **SCHEDULED)
    def sweep() -> int:
        from swaps import services

        return getattr(services, service)()

    return sweep


swap_apply_deposits_task = _step("swaps.apply_deposits", "swap_apply_deposits")
swap_advance_task = _step("swaps.advance", "swap_advance")
swaps_expire_task = _sweep("swaps.expire", "swaps_expire")

# Their names in the orders app, for messages queued before the move.
_legacy_tasks = [
    _step("orders.swap_apply_deposits", "swap_apply_deposits"),
    _step("orders.swap_advance", "swap_advance"),
    _sweep("orders.swaps_expire", "swaps_expire"),
]


@shared_task(name="swaps.quotes_purge", **SCHEDULED)
def quotes_purge_task() -> int:
    """Delete old unused quotes. Safe to run twice."""
    from swaps.quotes import quotes_purge

    return quotes_purge()
