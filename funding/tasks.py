"""The two kinds of task every funded order has, made once: a saga step of one order (its
id in, its new state out, retried on a lock timeout or a transient database error) and a
periodic sweep (how many it moved). Each app names its own (``orders/tasks.py``,
``swaps/tasks.py``); all are safe to run twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

from exchange.celery import DATABASE_TRANSIENT, SCHEDULED, TRANSACTIONS
from funding.models import FundedOrder
from wallets.locks import LockTimeout


def owner_step(name: str, service: Callable[[int], FundedOrder]) -> Any:
    """The saga step registered as ``name``: ``service(owner_id)``, its state out."""

    @shared_task(name=name, autoretry_for=(LockTimeout, *DATABASE_TRANSIENT), **TRANSACTIONS)
    def step(owner_id: int) -> str:
        return service(owner_id).state

    return step


def owner_sweep(name: str, service: Callable[[], int]) -> Any:
    """The periodic sweep registered as ``name``: ``service()``, how many it moved."""

    @shared_task(name=name, **SCHEDULED)
    def sweep() -> int:
        return service()

    return sweep
