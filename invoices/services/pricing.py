"""What an invoice asks in each coin: the rate of its pricing currency to the coin,
locked when the prompt is made, and the price at that rate in base units, rounded up so
the store is never paid less than its price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from exchange.errors import ApplicationError
from rates.errors import RateUnavailable
from rates.selectors import rate_current
from wallets.chains.registry import Coin, coin


@dataclass(frozen=True)
class Price:
    rate: Decimal  # pricing currency per whole coin
    due: int  # base units


def price_in(target: Coin, *, amount: Decimal, currency: str) -> Price:
    """``amount`` of ``currency`` asked in ``target``: 503 while there is no fresh rate, 422
    naming ``currency`` when no rate of it exists."""
    rate = rate_of(currency, target.code)
    due = (amount / rate * 10**target.decimals).to_integral_value(rounding=ROUND_CEILING)
    return Price(rate=rate, due=max(1, int(due)))


def rate_of(currency: str, coin_code: str) -> Decimal:
    """Units of ``currency`` one whole coin ``coin_code`` is worth now."""
    if currency == coin_code:
        return Decimal(1)
    market = {"XMR/BTC": rate_current}
    pair, inverse = f"{coin_code}/{currency}", f"{currency}/{coin_code}"
    try:
        if pair in market:
            return market[pair]().rate
        if inverse in market:
            return Decimal(1) / market[inverse]().rate
    except RateUnavailable:
        raise
    raise ApplicationError(f"no rate of {currency} to {coin_code}", field="currency")


def amount_of(base_units: int, *, coin_code: str, rate: Decimal) -> Decimal:
    """``base_units`` of the coin in the pricing currency at ``rate``."""
    return Decimal(base_units) / 10 ** coin(coin_code).decimals * rate
