"""Swap quotes: amounts from the aggregated rate, the spread and the payout's fee.

All arithmetic is Decimal on base units, rounded in the house's favour (what the customer
sends rounds up, what they get rounds down), never float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.fees import floating_payout_within, network_fee_estimate, spread_bps
from rates.models import PAIR_XMR_BTC
from rates.selectors import rate_current
from swaps.liquidity import liquidity_public
from swaps.models import Quote, QuoteKind
from wallets.chains.registry import COINS

if TYPE_CHECKING:
    from staff.services.authorize import Person

DECIMALS = {c.code: c.decimals for c in COINS}
CURRENCIES = tuple(DECIMALS)
# The pair the providers quote: the price of one MARKET_BASE in MARKET_QUOTE.
MARKET_BASE, MARKET_QUOTE = PAIR_XMR_BTC.split("/")
PRECISION = 60


@dataclass(frozen=True)
class Amounts:
    amount_from: int
    amount_to_gross: int  # payout before its network fee
    amount_to: int  # what the customer should receive
    rate: Decimal  # to-currency per from-currency, whole units, spread included
    market_equivalent: int  # to-currency base units at the market rate, no spread


def market_price(*, from_currency: str, to_currency: str, xmr_btc: Decimal) -> Decimal:
    """Price of one whole ``from_currency`` in ``to_currency`` at the market rate, from the
    aggregated rate of the market pair (one ``MARKET_BASE`` in ``MARKET_QUOTE``)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if (from_currency, to_currency) == (MARKET_BASE, MARKET_QUOTE):
            return xmr_btc
        if (from_currency, to_currency) == (MARKET_QUOTE, MARKET_BASE):
            return Decimal(1) / xmr_btc
    raise ApplicationError(f"no market rate for {from_currency}/{to_currency}", field="to_currency")


def _per_base_unit(price: Decimal, from_currency: str, to_currency: str) -> Decimal:
    return price.scaleb(DECIMALS[to_currency] - DECIMALS[from_currency])


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def swap_amounts(
    *,
    from_currency: str,
    to_currency: str,
    xmr_btc: Decimal,
    spread_bps: int,
    network_fee: int,
    amount_from: int | None = None,
    amount_to: int | None = None,
) -> Amounts:
    """Amounts of a swap sending ``amount_from``, or delivering ``amount_to`` (after fee)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        market = market_price(from_currency=from_currency, to_currency=to_currency, xmr_btc=xmr_btc)
        customer = market * (Decimal(10_000 - spread_bps) / Decimal(10_000))
        per_unit = _per_base_unit(customer, from_currency, to_currency)
        if amount_from is None:
            if amount_to is None:
                raise ValueError("swap_amounts needs amount_from or amount_to")
            # The least amount_from whose payout reaches amount_to: the division's last digit
            # can land either side of a whole number, so it is checked against the payout.
            wanted = amount_to + network_fee
            amount_from = _ceil(Decimal(wanted) / per_unit)
            while _floor(Decimal(amount_from) * per_unit) < wanted:
                amount_from += 1
            while amount_from > 1 and _floor(Decimal(amount_from - 1) * per_unit) >= wanted:
                amount_from -= 1
        gross = _floor(Decimal(amount_from) * per_unit)
        market_equivalent = _floor(
            Decimal(amount_from) * _per_base_unit(market, from_currency, to_currency)
        )
        return Amounts(
            amount_from=amount_from,
            amount_to_gross=gross,
            amount_to=max(0, gross - network_fee),
            rate=customer.quantize(Decimal("1e-18"), rounding=ROUND_FLOOR),
            market_equivalent=market_equivalent,
        )


def swap_limits(
    *,
    from_currency: str,
    to_currency: str,
    xmr_btc: Decimal,
    spread_bps: int,
    network_fee: int,
    kind: str = QuoteKind.FIXED,
) -> tuple[int, int]:
    """Smallest and largest amount_from: the payout must stay worth its fee, the deposit
    worth a refund, and the payout within what one swap may take of the house's
    liquidity (rounded: the exact balance is never published), less, for a floating swap,
    the margin it reserves on top (SWAP_FLOATING_RESERVE_MARGIN_BPS)."""
    smallest_payout = settings.ORDER_MIN_AMOUNT[to_currency]
    low = swap_amounts(
        from_currency=from_currency,
        to_currency=to_currency,
        xmr_btc=xmr_btc,
        spread_bps=spread_bps,
        network_fee=network_fee,
        amount_to=smallest_payout,
    ).amount_from
    low = max(low, settings.ORDER_MIN_AMOUNT[from_currency])
    available = liquidity_public(currency=to_currency)
    if kind == QuoteKind.FLOATING:
        available = floating_payout_within(available)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        price = market_price(from_currency=from_currency, to_currency=to_currency, xmr_btc=xmr_btc)
        per_unit = _per_base_unit(
            price * Decimal(10_000 - spread_bps) / Decimal(10_000), from_currency, to_currency
        )
        high = _floor(Decimal(available) / per_unit)
    return low, high


def quote_create(
    *,
    from_currency: str,
    to_currency: str,
    kind: str,
    amount_from: int | None = None,
    amount_to: int | None = None,
    user: Person | None = None,
) -> Quote:
    """Price a swap at the current aggregated rate (503 if no fresh rate: fails closed)."""
    if from_currency not in CURRENCIES:
        raise ApplicationError(f"unknown currency {from_currency!r}", field="from_currency")
    if to_currency not in CURRENCIES or to_currency == from_currency:
        raise ApplicationError("must be the other currency", field="to_currency")
    if (amount_from is None) == (amount_to is None):
        raise ApplicationError("give exactly one of amount_from and amount_to", field="amount_from")
    field = "amount_from" if amount_from is not None else "amount_to"
    if (amount_from or amount_to or 0) <= 0:
        raise ApplicationError("must be a positive number of base units", field=field)
    current = rate_current()
    spread = spread_bps(from_currency, to_currency)
    fee = network_fee_estimate(to_currency)
    amounts = swap_amounts(
        from_currency=from_currency,
        to_currency=to_currency,
        xmr_btc=current.rate,
        spread_bps=spread,
        network_fee=fee,
        amount_from=amount_from,
        amount_to=amount_to,
    )
    low, high = swap_limits(
        from_currency=from_currency,
        to_currency=to_currency,
        xmr_btc=current.rate,
        spread_bps=spread,
        network_fee=fee,
        kind=kind,
    )
    if not low <= amounts.amount_from <= high:
        raise ApplicationError(
            f"{from_currency} to send must be between {low} and {high} base units"
            + (
                " (the house's available liquidity sets the maximum)"
                if amounts.amount_from > high
                else ""
            ),
            field=field,
            extra={"min_from": str(low), "max_from": str(high)},
        )
    return Quote.objects.create(
        user=user if user is not None and user.pk else None,
        kind=kind,
        from_currency=from_currency,
        to_currency=to_currency,
        amount_from=amounts.amount_from,
        amount_to=amounts.amount_to,
        amount_to_gross=amounts.amount_to_gross,
        network_fee=fee,
        rate=amounts.rate,
        market_rate=current.rate,
        spread_bps=spread,
        min_from=low,
        max_from=high,
        snapshot_id=current.snapshot_id,
        expires_at=timezone.now() + timedelta(seconds=settings.SWAP_QUOTE_TTL_SECONDS),
    )


def quotes_purge() -> int:
    """Delete quotes that expired more than SWAP_QUOTE_KEEP_SECONDS ago and made no swap
    (a quote reserves nothing: it is a price, kept a day for questions about it)."""
    cutoff = timezone.now() - timedelta(seconds=settings.SWAP_QUOTE_KEEP_SECONDS)
    stale = Quote.objects.filter(expires_at__lt=cutoff, swap__isnull=True)
    deleted = 0
    while True:
        ids = list(stale.values_list("id", flat=True)[:1000])
        if not ids:
            return deleted
        deleted += Quote.objects.filter(id__in=ids, swap__isnull=True).delete()[0]
