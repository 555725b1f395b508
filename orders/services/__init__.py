"""Escrow order actions (``escrow``); what they share with swaps (``swaps.services``) is
the funded-order core's (``funding.services``)."""

from orders.services.escrow import (
    OrderPermissionDenied,
    order_advance,
    order_apply_deposits,
    order_cancel,
    order_create,
    order_dispute,
    order_refund,
    order_release,
    order_set_refund_address,
    order_split,
    orders_expire,
)

__all__ = [
    "OrderPermissionDenied",
    "order_advance",
    "order_apply_deposits",
    "order_cancel",
    "order_create",
    "order_dispute",
    "order_refund",
    "order_release",
    "order_set_refund_address",
    "order_split",
    "orders_expire",
]
