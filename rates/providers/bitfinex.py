"""Bitfinex: GET /v2/tickers?symbols=tXMRBTC,tBTCUSD,... (every pair in one call).

Answer: one array per known symbol, ``[SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE,
DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]`` (JSON numbers, parsed as
Decimal); an unknown symbol is left out. Errors come as ``["error", code, "message"]``,
usually with HTTP 500 (``10020`` is a bad symbol). Bitfinex's USD is the US dollar (its
tether is UST).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rates.providers.base import (
    HttpProvider,
    PairPrices,
    ProviderBadResponse,
    ProviderError,
    ProviderUnavailable,
    decode_json,
    mid_price,
    prices_each,
    to_price,
)

# Bitfinex error codes that mean "try again later": rate limit, maintenance.
TRANSIENT_CODES = {11010, 20060}
# Price fields of a trading pair's ticker, after its symbol.
TICKER_FIELDS = 10

SYMBOLS: dict[str, str] = {
    "XMR/BTC": "tXMRBTC",
    "XMR/USD": "tXMRUSD",
    "BTC/USD": "tBTCUSD",
    "BTC/EUR": "tBTCEUR",
    "BTC/GBP": "tBTCGBP",
    "BTC/JPY": "tBTCJPY",
}


class BitfinexProvider(HttpProvider):
    name = "bitfinex"

    def symbol(self, pair: str) -> str | None:
        return SYMBOLS.get(pair)

    def request(self, pairs: Sequence[str]) -> tuple[str, dict[str, str]]:
        return "/v2/tickers", {"symbols": ",".join(SYMBOLS[pair] for pair in pairs)}

    def error_for_status(self, status: int, body: bytes) -> ProviderError | None:
        if status >= 400:
            payload: Any = None
            with contextlib.suppress(ProviderBadResponse):
                payload = decode_json(body, provider=self.name)
            if self._is_error(payload):
                return self._error(payload)
        return super().error_for_status(status, body)

    def parse(self, payload: Any, pairs: Sequence[str]) -> PairPrices:
        if self._is_error(payload):
            raise self._error(payload)
        if not isinstance(payload, list) or not all(isinstance(t, list) for t in payload):
            raise ProviderBadResponse("expected a list of ticker arrays", provider=self.name)
        tickers = {str(t[0]): t[1:] for t in payload if t}
        return prices_each(pairs, lambda pair: self._price(tickers, pair))

    def _price(self, tickers: dict[str, list], pair: str) -> Decimal:
        symbol = SYMBOLS[pair]
        fields = tickers.get(symbol)
        if fields is None:
            what = "empty ticker list" if not tickers else f"no {symbol} ticker"
            raise ProviderBadResponse(f"{what} (unknown symbol?)", provider=self.name)
        if len(fields) < TICKER_FIELDS:
            raise ProviderBadResponse(
                f"ticker {symbol} has {len(fields)} fields, expected {TICKER_FIELDS}",
                provider=self.name,
            )
        bid = to_price(fields[0], provider=self.name, field="BID", pair=pair)
        ask = to_price(fields[2], provider=self.name, field="ASK", pair=pair)
        return mid_price(bid=bid, ask=ask, provider=self.name)

    @staticmethod
    def _is_error(payload: Any) -> bool:
        return isinstance(payload, list) and len(payload) >= 2 and payload[0] == "error"

    def _error(self, payload: list) -> ProviderError:
        code = payload[1]
        message = payload[2] if len(payload) > 2 else ""
        cls = ProviderUnavailable if code in TRANSIENT_CODES else ProviderBadResponse
        return cls(f"Bitfinex error {code}: {message}", provider=self.name)
