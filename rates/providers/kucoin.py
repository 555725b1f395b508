"""KuCoin: coin pairs from its order book, fiat prices from its fiat price endpoint.

- A coin pair: GET /api/v1/market/orderbook/level1?symbol=XMR-BTC, one call per symbol.
  Answer: ``{"code": "200000", "data": {"time": ..., "sequence": "...", "price": "...",
  "size": "...", "bestBid": "...", "bestBidSize": "...", "bestAsk": "...",
  "bestAskSize": "..."}}``; the price is the middle of the best bid and ask. ``data: null``
  means the symbol is unknown.
- Coins in a fiat currency: GET /api/v1/prices?base=USD&currencies=BTC,XMR, one call per
  fiat currency. Answer: ``{"code": "200000", "data": {"BTC": "60012.3", "XMR": "168.1"}}``
  (KuCoin's fiat price of each coin; a coin it does not price is left out). KuCoin's
  markets are in tethers, never in dollars: BTC-USDT is not asked for BTC/USD.
Prices are strings. Any other ``code`` is an error (``{"code": "400100", "msg": "..."}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rates.pairs import PairKind, pair_kind, pair_split
from rates.providers.base import (
    HttpProvider,
    PairPrices,
    ProviderBadResponse,
    ProviderUnavailable,
    mid_price,
    prices_each,
    to_price,
)

SUCCESS = "200000"
# KuCoin codes that mean "try again later": too many requests, internal error.
TRANSIENT_CODES = {"429000", "500000"}

ORDER_BOOK_SYMBOLS: dict[str, str] = {"XMR/BTC": "XMR-BTC"}
FIAT_COINS = frozenset({"BTC", "XMR"})
FIAT_BASES = frozenset({"USD", "EUR", "GBP", "AUD", "CAD", "CHF", "CNY", "JPY"})
LEVEL1_PATH = "/api/v1/market/orderbook/level1"
PRICES_PATH = "/api/v1/prices"


class KucoinProvider(HttpProvider):
    name = "kucoin"

    def symbol(self, pair: str) -> str | None:
        if pair in ORDER_BOOK_SYMBOLS:
            return ORDER_BOOK_SYMBOLS[pair]
        base, quote = pair_split(pair)
        if base in FIAT_COINS and quote in FIAT_BASES and pair_kind(pair) is PairKind.FIAT:
            return f"{base}@{quote}"
        return None

    def batches(self, pairs: Sequence[str]) -> list[tuple[str, ...]]:
        """One order book call per coin pair; one fiat price call per fiat currency."""
        books = [(pair,) for pair in pairs if pair in ORDER_BOOK_SYMBOLS]
        by_fiat: dict[str, list[str]] = {}
        for pair in pairs:
            if pair not in ORDER_BOOK_SYMBOLS:
                by_fiat.setdefault(pair_split(pair).quote, []).append(pair)
        return books + [tuple(group) for group in by_fiat.values()]

    def request(self, pairs: Sequence[str]) -> tuple[str, dict[str, str]]:
        if pairs[0] in ORDER_BOOK_SYMBOLS:
            return LEVEL1_PATH, {"symbol": ORDER_BOOK_SYMBOLS[pairs[0]]}
        coins = ",".join(pair_split(pair).base for pair in pairs)
        return PRICES_PATH, {"base": pair_split(pairs[0]).quote, "currencies": coins}

    def parse(self, payload: Any, pairs: Sequence[str]) -> PairPrices:
        if not isinstance(payload, dict) or "code" not in payload:
            raise ProviderBadResponse("expected an object with a code", provider=self.name)
        code = str(payload["code"])
        if code != SUCCESS:
            cls = ProviderUnavailable if code in TRANSIENT_CODES else ProviderBadResponse
            raise cls(f"KuCoin code {code}: {payload.get('msg', '')}", provider=self.name)
        data = payload.get("data")
        if pairs[0] in ORDER_BOOK_SYMBOLS:
            return {pairs[0]: self._book_price(data, pairs[0])}
        if not isinstance(data, dict):
            raise ProviderBadResponse(f"data is {type(data).__name__}", provider=self.name)
        return prices_each(pairs, lambda pair: self._fiat_price(data, pair))

    def _book_price(self, data: Any, pair: str) -> Decimal:
        if data is None:
            raise ProviderBadResponse(
                f"unknown symbol {ORDER_BOOK_SYMBOLS[pair]} (data is null)", provider=self.name
            )
        if not isinstance(data, dict):
            raise ProviderBadResponse(f"data is {type(data).__name__}", provider=self.name)
        bid = to_price(data.get("bestBid"), provider=self.name, field="bestBid", pair=pair)
        ask = to_price(data.get("bestAsk"), provider=self.name, field="bestAsk", pair=pair)
        return mid_price(bid=bid, ask=ask, provider=self.name)

    def _fiat_price(self, data: dict, pair: str) -> Decimal:
        base, quote = pair_split(pair)
        if base not in data:
            raise ProviderBadResponse(f"no {quote} price for {base}", provider=self.name)
        return to_price(data[base], provider=self.name, field=f"{base} in {quote}", pair=pair)
