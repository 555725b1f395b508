"""Thin tasks of escrow orders: ids in, one service call. All are safe to run twice."""

from __future__ import annotations

from funding.models import ADVANCE, APPLY_DEPOSITS
from funding.tasks import owner_step, owner_sweep
from orders import services
from orders.models import EscrowOrder

order_apply_deposits_task = owner_step(
    EscrowOrder.task(APPLY_DEPOSITS),
    lambda order_id: services.order_apply_deposits(order_id=order_id),
)
order_advance_task = owner_step(
    EscrowOrder.task(ADVANCE), lambda order_id: services.order_advance(order_id=order_id)
)
orders_expire_task = owner_sweep("orders.expire", services.orders_expire)
