"""Bitfinex: GET /v2/ticker/tXMRBTC.

Answer: ``[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE,
VOLUME, HIGH, LOW]`` (JSON numbers, parsed as Decimal). Errors come as
``["error", code, "message"]``, usually with HTTP 500 (``10020`` is a bad symbol).
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from rates.providers.base import (
    HttpProvider,
    ProviderBadResponse,
    ProviderError,
    ProviderUnavailable,
    decode_json,
    mid_price,
    to_price,
)

# Bitfinex error codes that mean "try again later": rate limit, maintenance.
TRANSIENT_CODES = {11010, 20060}
TICKER_FIELDS = 10


class BitfinexProvider(HttpProvider):
    name = "bitfinex"
    path = "/v2/ticker/tXMRBTC"

    def error_for_status(self, status: int, body: bytes) -> ProviderError | None:
        if status >= 400:
            payload = None
            with contextlib.suppress(ProviderBadResponse):
                payload = decode_json(body, provider=self.name)
            if self._is_error(payload):
                return self._error(payload)
        return super().error_for_status(status, body)

    def parse(self, payload: Any) -> Decimal:
        if self._is_error(payload):
            raise self._error(payload)
        if not isinstance(payload, list):
            raise ProviderBadResponse("expected a ticker array", provider=self.name)
        if not payload:
            raise ProviderBadResponse("empty ticker (unknown symbol?)", provider=self.name)
        if len(payload) < TICKER_FIELDS:
            raise ProviderBadResponse(
                f"ticker has {len(payload)} fields, expected {TICKER_FIELDS}", provider=self.name
            )
        bid = to_price(payload[0], provider=self.name, field="BID")
        ask = to_price(payload[2], provider=self.name, field="ASK")
        return mid_price(bid=bid, ask=ask, provider=self.name)

    @staticmethod
    def _is_error(payload: Any) -> bool:
        return isinstance(payload, list) and len(payload) >= 2 and payload[0] == "error"

    def _error(self, payload: list) -> ProviderError:
        code = payload[1]
        message = payload[2] if len(payload) > 2 else ""
        cls = ProviderUnavailable if code in TRANSIENT_CODES else ProviderBadResponse
        return cls(f"Bitfinex error {code}: {message}", provider=self.name)
