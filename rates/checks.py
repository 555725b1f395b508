"""Start-up checks: every name in RATES_PROVIDERS is a provider this engine has, the fiat
currencies are currency codes, and every pair the refresh prices is quoted by a provider."""

from __future__ import annotations

from django.core import checks
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def rate_providers_configured(app_configs, **kwargs):
    from rates.pairs import rates_pairs
    from rates.providers import configured_providers

    try:
        providers = configured_providers()
        pairs = rates_pairs()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="rates.E001", hint="see README: Rates and swaps")]
    unquoted = [pair for pair in pairs if not any(p.symbol(pair) for p in providers)]
    if not unquoted:
        return []
    return [
        checks.Warning(
            f"no provider of RATES_PROVIDERS quotes {', '.join(unquoted)}: every refresh"
            " stores a failed snapshot for it and nothing can be priced in it",
            id="rates.W001",
            hint="add a provider that quotes it, a RATES_STATIC_<BASE>_<QUOTE> for the"
            " static provider, or drop the currency from RATES_FIAT_CURRENCIES",
        )
    ]
