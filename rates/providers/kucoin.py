"""KuCoin: GET /api/v1/market/orderbook/level1?symbol=XMR-BTC.

Answer: ``{"code": "200000", "data": {"time": ..., "sequence": "...", "price": "...",
"size": "...", "bestBid": "...", "bestBidSize": "...", "bestAsk": "...",
"bestAskSize": "..."}}``; prices are strings. Any other ``code`` is an error
(``{"code": "400100", "msg": "..."}``); ``data: null`` means the symbol is unknown.
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

SUCCESS = "200000"
# KuCoin codes that mean "try again later": too many requests, internal error.
TRANSIENT_CODES = {"429000", "500000"}


class KucoinProvider(HttpProvider):
    name = "kucoin"
    path = "/api/v1/market/orderbook/level1"
    params = {"symbol": "XMR-BTC"}

    def parse(self, payload: Any) -> Decimal:
        if not isinstance(payload, dict) or "code" not in payload:
            raise ProviderBadResponse("expected an object with a code", provider=self.name)
        code = str(payload["code"])
        if code != SUCCESS:
            cls = ProviderUnavailable if code in TRANSIENT_CODES else ProviderBadResponse
            raise cls(f"KuCoin code {code}: {payload.get('msg', '')}", provider=self.name)
        data = payload.get("data")
        if data is None:
            raise ProviderBadResponse(
                f"unknown symbol {self.params['symbol']} (data is null)", provider=self.name
            )
        if not isinstance(data, dict):
            raise ProviderBadResponse(f"data is {type(data).__name__}", provider=self.name)
        bid = to_price(data.get("bestBid"), provider=self.name, field="bestBid")
        ask = to_price(data.get("bestAsk"), provider=self.name, field="bestAsk")
        return mid_price(bid=bid, ask=ask, provider=self.name)
