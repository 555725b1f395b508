"""Thin tasks: ids in, one service call. All are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from exchange.celery import DATABASE_TRANSIENT, SCHEDULED, TRANSACTIONS
from wallets.locks import LockTimeout


def _step(name: str, service: str, id_arg: str):
    """A saga step of one order: ``orders.services.<service>(<id_arg>=id)``,
    its new state out; retried on a lock timeout or a transient database error."""

    @shared_task(name=name, autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS)
    def step(owner_id: int) -> str:
        from orders import services

        return getattr(services, service)(**{id_arg: owner_id}).state

    return step


def _sweep(name: str, service: str):
    """A periodic sweep: ``orders.services.<service>()``, how many it moved out."""

    @shared_task(name=name, **SCHEDULED)
    def sweep() -> int:
        from orders import services

        return getattr(services, service)()

    return sweep


order_apply_deposits_task = _step("orders.apply_deposits", "order_apply_deposits", "order_id")
order_advance_task = _step("orders.advance", "order_advance", "order_id")
orders_expire_task = _sweep("orders.expire", "orders_expire")
