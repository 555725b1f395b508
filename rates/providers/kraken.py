"""Kraken: GET /0/public/Ticker?pair=XMRXBT.

Answer: ``{"error": [], "result": {"XXMRXXBT": {"a": [ask, whole lot volume, lot volume],
"b": [bid, ...], "c": [last, volume], ...}}}``; prices are strings. Errors come as
HTTP 200 with a non-empty ``error`` list, e.g. ``["EQuery:Unknown asset pair"]``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rates.providers.base import (
    HttpProvider,
    ProviderBadResponse,
    ProviderUnavailable,
    mid_price,
    to_price,
)

# Kraken error prefixes that mean "try again later"; every other error is definitive.
TRANSIENT_ERRORS = (
    "EService:",
    "EAPI:Rate limit",
    "EGeneral:Temporary lockout",
    "EGeneral:Internal error",
)


class KrakenProvider(HttpProvider):
    name = "kraken"
    path = "/0/public/Ticker"
    params = {"pair": "XMRXBT"}
    result_key = "XXMRXXBT"

    def parse(self, payload: Any) -> Decimal:
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
        ticker = result.get(self.result_key)
        if ticker is None and len(result) == 1:
            ticker = next(iter(result.values()))
        if not isinstance(ticker, dict):
            raise ProviderBadResponse(f"no {self.result_key} ticker in result", provider=self.name)
        ask = to_price(self._first(ticker, "a"), provider=self.name, field="ask")
        bid = to_price(self._first(ticker, "b"), provider=self.name, field="bid")
        return mid_price(bid=bid, ask=ask, provider=self.name)

    def _first(self, ticker: dict, key: str) -> Any:
        entry = ticker.get(key)
        if not isinstance(entry, list) or not entry:
            raise ProviderBadResponse(f"ticker field {key!r} is {entry!r}", provider=self.name)
        return entry[0]
