"""Order actions: escrow orders (``escrow``) and swaps (``swaps``); what they share is the
funded-order core's (``funding.services``)."""

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
from orders.services.swaps import (
    swap_accept,
    swap_advance,
    swap_apply_deposits,
    swap_create,
    swap_refund,
    swaps_expire,
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
    "swap_accept",
    "swap_advance",
    "swap_apply_deposits",
    "swap_create",
    "swap_refund",
    "swaps_expire",
]
