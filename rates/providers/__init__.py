"""Market data providers: one module per source, each pricing the pairs it quotes."""

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
