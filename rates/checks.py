"""Start-up check: every name in RATES_PROVIDERS is a provider this engine has."""

from __future__ import annotations

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def rate_providers_configured(app_configs, **kwargs):
    from rates.providers import configured_providers

    try:
        configured_providers()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="rates.E001", hint="see README: Rates and swaps")]
    return []
