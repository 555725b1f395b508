"""Market data providers: one module per source, all answering the price of 1 XMR in BTC."""

from rates.providers.base import (
    Provider,
    ProviderBadResponse,
    ProviderError,
    ProviderUnavailable,
    configured_providers,
    get_provider,
)

__all__ = [
    "Provider",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderUnavailable",
    "configured_providers",
    "get_provider",
]
