"""Fee policy of funded orders, in one place: the platform fee of escrow and invoices, the estimated
network fee of a payout, and the spread and reserve margin of swaps.

Amounts are integers in base units; a share in basis points is rounded down, so the
platform never takes more than its rate and a reserve never exceeds its margin."""

from __future__ import annotations

from django.conf import settings

from wallets.chains.registry import coin

BPS = 10_000


def bps_of(amount: int, bps: int) -> int:
    """``bps`` basis points of ``amount``, rounded down."""
    return amount * bps // BPS


def platform_fee_bps() -> int:
    """The platform fee an escrow order is created with."""
    return settings.PLATFORM_FEE_BPS


def platform_fee(amount: int, bps: int, currency: str | None = None) -> int:
    """The platform fee on ``amount`` at the order's ``bps`` (paid by the payee's share).

    With ``currency``: a fee too small to stay behind in the deposit account as change of
    the payout (below the coin's dust) is not taken, since the chain would give it to the
    payee or the network while the books kept it as the platform's."""
    fee = bps_of(amount, bps)
    if currency is not None and fee < coin(currency).dust:
        return 0
    return fee


def network_fee_estimate(currency: str) -> int:
    """What a payout in ``currency`` is expected to pay the network, before it is built
    (the built transaction's own fee replaces it)."""
    return settings.SWAP_NETWORK_FEE[currency]


def amount_after_network_fee(gross: int, currency: str) -> int:
    """What a payout of ``gross`` is expected to deliver."""
    return max(0, gross - network_fee_estimate(currency))


def spread_bps(from_currency: str, to_currency: str) -> int:
    """The spread of a swap in that direction."""
    return settings.SWAP_SPREAD_BPS[f"{from_currency}-{to_currency}"]


def floating_reserve(gross: int) -> int:
    """The liquidity a floating swap reserves for a quoted payout of ``gross``: its margin
    covers a rate that moves before the deposit confirms."""
    return gross * (BPS + settings.SWAP_FLOATING_RESERVE_MARGIN_BPS) // BPS


def floating_payout_within(available: int) -> int:
    """The largest quoted payout whose floating reserve fits in ``available``."""
    return available * BPS // (BPS + settings.SWAP_FLOATING_RESERVE_MARGIN_BPS)
