"""CoinGecko: GET /api/v3/simple/price?ids=bitcoin,monero&vs_currencies=btc,eur,usd
(every pair in one call).

Answer: ``{"bitcoin": {"btc": 1, "eur": 55010, "usd": 60010}, "monero": {"btc": 0.0028,
...}}`` (JSON numbers, parsed as Decimal): every id asked in every currency asked, the
pairs not wanted (bitcoin in btc) ignored. An unknown id or currency is left out; errors
come as ``{"status": {"error_code": 429, "error_message": "..."}}`` or
``{"error": "..."}``. With RATES_COINGECKO_API_KEY set, the demo API key is sent in the
``x-cg-demo-api-key`` header.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings

from rates.pairs import pair_split
from rates.providers.base import (
    HttpProvider,
    PairPrices,
    ProviderBadResponse,
    ProviderUnavailable,
    prices_each,
    to_price,
)

# CoinGecko's coin ids, and the currencies it prices them in (its vs_currencies).
IDS: dict[str, str] = {"BTC": "bitcoin", "XMR": "monero"}
VS_COINS: dict[str, str] = {"BTC": "btc"}
VS_FIAT = frozenset(
    {
        "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "CNY", "HKD", "SGD", "KRW",
        "INR", "IDR", "THB", "TWD", "PHP", "MYR", "VND", "BRL", "MXN", "ARS", "CLP", "ZAR",
        "NGN", "TRY", "ILS", "AED", "SAR", "PLN", "CZK", "HUF", "SEK", "NOK", "DKK", "UAH",
    }
)  # fmt: skip


class CoingeckoProvider(HttpProvider):
    name = "coingecko"

    def symbol(self, pair: str) -> str | None:
        base, quote = pair_split(pair)
        vs = VS_COINS.get(quote) or (quote.lower() if quote in VS_FIAT else None)
        if base not in IDS or vs is None:
            return None
        return f"{IDS[base]}.{vs}"

    def request(self, pairs: Sequence[str]) -> tuple[str, dict[str, str]]:
        ids, currencies = set(), set()
        for pair in pairs:
            coin_id, _, vs = str(self.symbol(pair)).partition(".")
            ids.add(coin_id)
            currencies.add(vs)
        params = {"ids": ",".join(sorted(ids)), "vs_currencies": ",".join(sorted(currencies))}
        return "/api/v3/simple/price", {**params, "precision": "full"}

    def headers(self) -> dict[str, str]:
        key = settings.RATES_COINGECKO_API_KEY
        return {"x-cg-demo-api-key": key} if key else {}

    def parse(self, payload: Any, pairs: Sequence[str]) -> PairPrices:
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
        return prices_each(pairs, lambda pair: self._price(payload, pair))

    def _price(self, payload: dict, pair: str) -> Decimal:
        coin_id, _, vs = str(self.symbol(pair)).partition(".")
        prices = payload.get(coin_id)
        if not isinstance(prices, dict):
            raise ProviderBadResponse(f"no price for {coin_id} (unknown id?)", provider=self.name)
        if vs not in prices:
            raise ProviderBadResponse(f"no {vs} price for {coin_id}", provider=self.name)
        return to_price(prices[vs], provider=self.name, field=f"{coin_id}.{vs}", pair=pair)
