"""What an invoice asks in each coin: the rate of its pricing currency to the coin,
locked when the prompt is made, and the price at that rate in base units, rounded up so
the store is never paid less than its price (rates.selectors.rate_convert)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rates.selectors import rate_convert
from wallets.chains.registry import Coin, coin


@dataclass(frozen=True)
class Price:
    rate: Decimal  # pricing currency per whole coin
    due: int  # base units


def price_in(target: Coin, *, amount: Decimal, currency: str) -> Price:
    """``amount`` of ``currency`` asked in ``target``: 503 while there is no fresh rate, a
    4xx naming ``currency`` when it is not priced here."""
    conversion = rate_convert(price=amount, currency=currency, coin=target.code)
    return Price(rate=conversion.rate, due=max(1, conversion.amount))


def amount_of(base_units: int, *, coin_code: str, rate: Decimal) -> Decimal:
    """``base_units`` of the coin in the pricing currency at ``rate``."""
    return Decimal(base_units) / 10 ** coin(coin_code).decimals * rate
