"""Escrow orders: create, credit deposits, release, refund, dispute, split, expire.

What every funded order shares (the row lock, deposits credited once, confirmations,
expiry, following payouts, retries) is the core's (``funding``); what is here is escrow's
own. Every state change goes through ``funding.states.transition`` inside one
transaction that also writes the ledger postings, the ownership transfers and the
payout rows; tasks and Redis writes happen after commit. No node is called here.

Ledger accounts (per currency): ``deposits`` is credited with what came in;
``escrow:order:{id}`` holds the escrow; ``vendor:{id}``/``buyer:{id}`` what is owed to
them; ``platform:fees``; ``payout:{id}`` in flight; ``sent`` and ``network:fees`` once out.

The package: ``create`` (new orders, the refund address), ``deposits`` (crediting and
owed refunds), ``moves`` (release, refund, dispute, split, cancel) and ``follow``
(payouts moving the order on, expiry); ``common`` is what they share.
"""

from orders.services.escrow.common import OrderPermissionDenied, order_destination
from orders.services.escrow.create import order_create, order_set_refund_address
from orders.services.escrow.deposits import order_apply_deposits
from orders.services.escrow.follow import order_advance, orders_expire
from orders.services.escrow.moves import (
    order_cancel,
    order_dispute,
    order_refund,
    order_release,
    order_split,
)

__all__ = [
    "OrderPermissionDenied",
    "order_advance",
    "order_apply_deposits",
    "order_cancel",
    "order_create",
    "order_destination",
    "order_dispute",
    "order_refund",
    "order_release",
    "order_set_refund_address",
    "order_split",
    "orders_expire",
]
