"""Thin tasks of escrow orders: ids in, one service call. All are safe to run twice."""

from __future__ import annotations

from funding.tasks import owner_step, owner_sweep
from orders import services

order_apply_deposits_task = owner_step(
    "orders.apply_deposits", lambda order_id: services.order_apply_deposits(order_id=order_id)
)
order_advance_task = owner_step(
    "orders.advance", lambda order_id: services.order_advance(order_id=order_id)
)
orders_expire_task = owner_sweep("orders.expire", services.orders_expire)
