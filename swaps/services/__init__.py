"""Swap actions: creating a swap, crediting its deposit, the exchange and its payout,
expiry (``exchange``); the customer's choice and refunds (``choices``). What every funded
order shares is the core's (``funding.services``)."""

from swaps.services.choices import swap_accept, swap_refund
from swaps.services.exchange import (
    swap_advance,
    swap_apply_deposits,
    swap_create,
    swaps_expire,
)

__all__ = [
    "swap_accept",
    "swap_advance",
    "swap_apply_deposits",
    "swap_create",
    "swap_refund",
    "swaps_expire",
]
