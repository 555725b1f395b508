"""CoinGecko: GET /api/v3/simple/price?ids=monero&vs_currencies=btc.

Answer: ``{"monero": {"btc": 0.0028}}`` (a JSON number, parsed as Decimal). An unknown id
gives ``{}``; errors come as ``{"status": {"error_code": 429, "error_message": "..."}}``
or ``{"error": "..."}``. With RATES_COINGECKO_API_KEY set, the demo API key is sent in
the ``x-cg-demo-api-key`` header.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from rates.providers.base import HttpProvider, ProviderBadResponse, ProviderUnavailable, to_price


class CoingeckoProvider(HttpProvider):
    name = "coingecko"
    path = "/api/v3/simple/price"
    params = {"ids": "monero", "vs_currencies": "btc", "precision": "full"}

    def headers(self) -> dict[str, str]:
        key = settings.RATES_COINGECKO_API_KEY
        return {"x-cg-demo-api-key": key} if key else {}

    def parse(self, payload: Any) -> Decimal:
        if not isinstance(payload, dict):
            raise ProviderBadResponse("expected an object", provider=self.name)
        status = payload.get("status")
        if isinstance(status, dict) and status.get("error_code") is not None:
            code = status.get("error_code")
            cls = ProviderUnavailable if str(code) == "429" else ProviderBadResponse
            raise cls(
                f"CoinGecko error {code}: {status.get('error_message', '')}", provider=self.name
            )
        if "error" in payload:
            raise ProviderBadResponse(f"CoinGecko error: {payload['error']}", provider=self.name)
        monero = payload.get("monero")
        if not isinstance(monero, dict):
            raise ProviderBadResponse("no price for monero (unknown id?)", provider=self.name)
        if "btc" not in monero:
            raise ProviderBadResponse("no btc price for monero", provider=self.name)
        return to_price(monero["btc"], provider=self.name, field="monero.btc")
