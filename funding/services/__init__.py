"""The funded-order core's services (escrow orders and swaps call them alike)."""

from funding.services.books import hand_over, pay, pay_share, post
from funding.services.deposits import (
    confirmations_required,
    creditable,
    deposits_credit,
    extras_ready,
    paid_in_time,
    ready_batch,
)
from funding.services.orders import (
    account_assign,
    accounts_retire_closed,
    address_checked,
    advance,
    apply_deposits,
    apply_later,
    authorize,
    expire_due,
    for_accounts,
    lock,
    retry_payout,
)

__all__ = [
    "account_assign",
    "accounts_retire_closed",
    "address_checked",
    "advance",
    "apply_deposits",
    "apply_later",
    "authorize",
    "confirmations_required",
    "creditable",
    "deposits_credit",
    "expire_due",
    "extras_ready",
    "for_accounts",
    "hand_over",
    "lock",
    "paid_in_time",
    "pay",
    "pay_share",
    "post",
    "ready_batch",
    "retry_payout",
]
