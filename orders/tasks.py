"""Thin tasks: ids in, one service call. All are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from exchange.celery import DATABASE_TRANSIENT, SCHEDULED, TRANSACTIONS
from wallets.locks import LockTimeout


@shared_task(
    name="orders.apply_deposits", autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS
)
def order_apply_deposits_task(order_id: int) -> str:
    from orders.services import order_apply_deposits

    return order_apply_deposits(order_id=order_id).state


@shared_task(
    name="orders.advance", autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS
)
def order_advance_task(order_id: int) -> str:
    from orders.services import order_advance

    return order_advance(order_id=order_id).state


@shared_task(name="orders.expire", **SCHEDULED)
def orders_expire_task() -> int:
    from orders.services import orders_expire

    return orders_expire()


@shared_task(
    name="orders.swap_apply_deposits",
    autoretry_for=(LockTimeout, *DATABASE_TRANSIENT),
    **TRANSACTIONS,
)
def swap_apply_deposits_task(swap_id: int) -> str:
    from orders.services import swap_apply_deposits

    return swap_apply_deposits(swap_id=swap_id).state


@shared_task(
    name="orders.swap_advance", autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS
)
def swap_advance_task(swap_id: int) -> str:
    from orders.services import swap_advance

    return swap_advance(swap_id=swap_id).state


@shared_task(name="orders.swaps_expire", **SCHEDULED)
def swaps_expire_task() -> int:
    from orders.services import swaps_expire

    return swaps_expire()
