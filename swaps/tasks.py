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

from exchange.celery import SCHEDULED
from funding.models import ADVANCE, APPLY_DEPOSITS
from funding.tasks import owner_step, owner_sweep
from swaps import services
from swaps.models import SwapOrder


def _apply_deposits(swap_id: int) -> SwapOrder:
    return services.swap_apply_deposits(swap_id=swap_id)


def _advance(swap_id: int) -> SwapOrder:
    return services.swap_advance(swap_id=swap_id)


swap_apply_deposits_task = owner_step(SwapOrder.task(APPLY_DEPOSITS), _apply_deposits)
swap_advance_task = owner_step(SwapOrder.task(ADVANCE), _advance)
swaps_expire_task = owner_sweep("swaps.expire", services.swaps_expire)

# Their names in the orders app, for messages queued before the move.
_legacy_tasks = [
    owner_step("orders.swap_apply_deposits", _apply_deposits),
    owner_step("orders.swap_advance", _advance),
    owner_sweep("orders.swaps_expire", services.swaps_expire),
]


@shared_task(name="swaps.quotes_purge", **SCHEDULED)
def quotes_purge_task() -> int:
    """Delete old unused quotes. Safe to run twice."""
    from swaps.quotes import quotes_purge

    return quotes_purge()
