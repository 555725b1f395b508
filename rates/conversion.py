"""Pricing arithmetic: an amount of a currency (fiat or coin) in base units of a coin.

Pure Decimal arithmetic, never float. What a customer owes is rounded **up** to the next
base unit (``ROUND_CEILING``), so the merchant never receives less than the price; a
caller paying out instead passes ``ROUND_FLOOR``. The rate comes from
``rates.selectors.rate_convert``, which reads it; this module only computes.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext

from exchange.errors import ApplicationError

# Enough digits for any amount times any rate the snapshots hold (30 digits each).
PRECISION = 80


def amount_decimal(value: Decimal | int | str, *, field: str = "amount") -> Decimal:
    """A positive, finite Decimal from a Decimal, an int or a decimal string. A float is a
    programming error (``TypeError``): it cannot hold a price exactly."""
    if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(
            f"{field} must be a Decimal, an int or a string, not {type(value).__name__}"
        )
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ApplicationError(f"{value!r} is not a number", field=field)
    if not amount.is_finite() or amount <= 0:
        raise ApplicationError("must be a positive amount", field=field)
    return amount


def base_units_due(
    *,
    amount: Decimal,
    price: Decimal,
    decimals: int,
    inverted: bool = False,
    rounding: str = ROUND_CEILING,
) -> int:
    """Base units (10**-``decimals`` of a coin) worth ``amount`` of a currency.

    ``price`` is the price of 1 coin in that currency (XMR/USD 168: ``amount`` USD is
    ``amount / 168`` XMR); with ``inverted`` it is the price of 1 unit of the currency in
    the coin (XMR/BTC 0.0028 for an amount in XMR paid in BTC: ``amount * 0.0028`` BTC),
    so an inverse pair is never rounded before use. The result is rounded with
    ``rounding``: up by default, what a customer owes.
    """
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price {price} is not a positive rate")
    with localcontext() as context:
        context.prec = PRECISION
        scaled = amount.scaleb(decimals)
        units = scaled * price if inverted else scaled / price
        return int(units.to_integral_value(rounding=rounding))
