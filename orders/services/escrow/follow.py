"""Payouts moving the order on, and expiry."""

from __future__ import annotations

from funding.services import accounts_retire_closed, advance, expire_due
from orders.models import TERMINAL_ORDER_STATES, EscrowOrder
from orders.services.escrow.deposits import _seen_in_time


def order_advance(*, order_id: int) -> EscrowOrder:
    """Follow the order's payouts: relayed → released, confirmed → completed/refunded,
    failed → failed, and back from failed when the node shows the payout after all
    (the table of each is ``EscrowOrder``'s). Safe to run twice."""
    return advance(EscrowOrder, order_id)


def orders_expire(*, batch: int = 500) -> int:
    """Expire unpaid orders past their deadline; retire accounts after the watch window."""
    expired = expire_due(EscrowOrder, batch=batch, seen_in_time=_seen_in_time)
    accounts_retire_closed(EscrowOrder, closed_states=TERMINAL_ORDER_STATES, batch=batch)
    return expired
