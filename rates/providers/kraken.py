"""Kraken: GET /0/public/Ticker?pair=XMRXBT,XBTUSD,... (every pair in one call).

Answer: ``{"error": [], "result": {"XXMRXXBT": {"a": [ask, whole lot volume, lot volume],
"b": [bid, ...], "c": [last, volume], ...}, "XXBTZUSD": {...}}}``; prices are strings.
A pair is asked by its altname (XBTUSD) and keyed in the answer by its full name
(XXBTZUSD; pairs listed since 2019 have no X/Z prefixes, XBTCHF stays XBTCHF). Errors
come as HTTP 200 with a non-empty ``error`` list, e.g. ``["EQuery:Unknown asset pair"]``,
for the whole call.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rates.providers.base import (
    HttpProvider,
    PairPrices,
    ProviderBadResponse,
    ProviderUnavailable,
    mid_price,
    prices_each,
    to_price,
)

# Kraken error prefixes that mean "try again later"; every other error is definitive.
TRANSIENT_ERRORS = (
    "EService:",
    "EAPI:Rate limit",
    "EGeneral:Temporary lockout",
    "EGeneral:Internal error",
)

# Pair -> (the altname asked for, the key of its ticker in the answer).
SYMBOLS: dict[str, tuple[str, str]] = {
    "XMR/BTC": ("XMRXBT", "XXMRXXBT"),
    "XMR/USD": ("XMRUSD", "XXMRZUSD"),
    "XMR/EUR": ("XMREUR", "XXMRZEUR"),
    "BTC/USD": ("XBTUSD", "XXBTZUSD"),
    "BTC/EUR": ("XBTEUR", "XXBTZEUR"),
    "BTC/GBP": ("XBTGBP", "XXBTZGBP"),
    "BTC/CAD": ("XBTCAD", "XXBTZCAD"),
    "BTC/JPY": ("XBTJPY", "XXBTZJPY"),
    "BTC/CHF": ("XBTCHF", "XBTCHF"),
    "BTC/AUD": ("XBTAUD", "XBTAUD"),
}


class KrakenProvider(HttpProvider):
    name = "kraken"

    def symbol(self, pair: str) -> str | None:
        entry = SYMBOLS.get(pair)
        return entry[0] if entry else None

    def request(self, pairs: Sequence[str]) -> tuple[str, dict[str, str]]:
        return "/0/public/Ticker", {"pair": ",".join(SYMBOLS[pair][0] for pair in pairs)}

    def parse(self, payload: Any, pairs: Sequence[str]) -> PairPrices:
        if not isinstance(payload, dict) or not isinstance(payload.get("error"), list):
            raise ProviderBadResponse("expected an object with an error list", provider=self.name)
        errors = [str(error) for error in payload["error"]]
        if errors:
            transient = any(error.startswith(TRANSIENT_ERRORS) for error in errors)
            cls = ProviderUnavailable if transient else ProviderBadResponse
            raise cls(f"Kraken error: {'; '.join(errors)}", provider=self.name)
        result = payload.get("result")
        if not isinstance(result, dict):
            raise ProviderBadResponse("no result object", provider=self.name)
        return prices_each(pairs, lambda pair: self._price(result, pair, alone=len(pairs) == 1))

    def _price(self, result: dict, pair: str, *, alone: bool) -> Decimal:
        altname, key = SYMBOLS[pair]
        ticker = result.get(key, result.get(altname))
        if ticker is None and alone and len(result) == 1:
            ticker = next(iter(result.values()))
        if not isinstance(ticker, dict):
            raise ProviderBadResponse(f"no {key} ticker in result", provider=self.name)
        ask = to_price(self._first(ticker, "a"), provider=self.name, field="ask", pair=pair)
        bid = to_price(self._first(ticker, "b"), provider=self.name, field="bid", pair=pair)
        return mid_price(bid=bid, ask=ask, provider=self.name)

    def _first(self, ticker: dict, key: str) -> Any:
        entry = ticker.get(key)
        if not isinstance(entry, list) or not entry:
            raise ProviderBadResponse(f"ticker field {key!r} is {entry!r}", provider=self.name)
        return entry[0]
