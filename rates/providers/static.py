"""The static provider: the price set in RATES_STATIC_XMR_BTC, for regtest and demos."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from rates.providers.base import Provider, to_price


class StaticProvider(Provider):
    """Answers RATES_STATIC_XMR_BTC as a Decimal; no network."""

    name = "static"

    def fetch(self) -> Decimal:
        return to_price(
            str(settings.RATES_STATIC_XMR_BTC), provider=self.name, field="RATES_STATIC_XMR_BTC"
        )
