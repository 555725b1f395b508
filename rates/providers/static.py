"""The static provider: fixed prices from settings, for regtest and demos; no network.

The price of BASE/QUOTE is the setting ``RATES_STATIC_<BASE>_<QUOTE>`` (RATES_STATIC_XMR_BTC,
RATES_STATIC_BTC_USD, RATES_STATIC_BTC_EUR have defaults; any other is read from the
environment variable of that name). A coin in a fiat currency without its own setting is
derived through another coin: XMR/USD = RATES_STATIC_XMR_BTC × RATES_STATIC_BTC_USD. A pair
with neither is not quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings

from rates.pairs import PairKind, coin_codes, pair_kind, pair_split
from rates.providers.base import PairPrices, Provider, prices_each, to_price


def setting_name(pair: str) -> str:
    base, quote = pair_split(pair)
    return f"RATES_STATIC_{base}_{quote}"


def _value(pair: str) -> str | None:
    value = getattr(settings, setting_name(pair), None)
    return None if value is None else str(value)


class StaticProvider(Provider):
    """Answers the RATES_STATIC_* prices as Decimals."""

    name = "static"

    def _route(self, pair: str) -> list[str] | None:
        """The pairs whose settings multiply to ``pair``'s price: itself, or (a coin in a
        fiat currency without a setting of its own) the coin in another coin and that coin
        in the fiat currency."""
        own = _value(pair)
        if own is not None and (own.strip() or pair_kind(pair) is PairKind.COIN):
            return [pair]
        if pair_kind(pair) is PairKind.FIAT:
            base, quote = pair_split(pair)
            for via in coin_codes():
                legs = [f"{base}/{via}", f"{via}/{quote}"]
                if via != base and all((_value(leg) or "").strip() for leg in legs):
                    return legs
        return None

    def symbol(self, pair: str) -> str | None:
        route = self._route(pair)
        return None if route is None else " × ".join(setting_name(leg) for leg in route)

    def fetch_pairs(self, pairs: Sequence[str]) -> PairPrices:
        return prices_each(pairs, self._price)

    def _price(self, pair: str) -> Decimal:
        route = self._route(pair) or [pair]
        price = Decimal(1)
        for leg in route:
            price *= to_price(_value(leg), provider=self.name, field=setting_name(leg), pair=leg)
        if len(route) == 1:
            return price
        return to_price(price, provider=self.name, field=str(self.symbol(pair)), pair=pair)
