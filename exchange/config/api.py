"""The REST API's settings: DRF's defaults, pages and throttles, API tokens, the schema.

``exchange.settings`` imports every name here. It also sets ``REST_FRAMEWORK``'s
``NUM_PROXIES`` from ``TRUSTED_PROXIES``, beside the other settings for running behind a
TLS proxy.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from exchange.config.env import env

API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "exchange.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "exchange.pagination.Pagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "EXCEPTION_HANDLER": "exchange.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "anon": env.str("THROTTLE_ANON", default="600/min"),
    },
}
# API tokens (django-rest-knox, exchange.ApiToken): stored as SHA-512 digests, shown once,
# ``Authorization: Token <secret>``. A token lives API_TOKEN_TTL_DAYS unless its maker
# picks fewer or more days (at most API_TOKEN_MAX_DAYS); deleting it revokes it at once.
# API_TOKEN_AUTO_REFRESH: each use pushes the expiry to a full TTL from now again.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=20)
if not 1 <= API_TOKEN_TTL_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("API_TOKEN_TTL_DAYS must be between 1 and API_TOKEN_MAX_DAYS")
KNOX_TOKEN_MODEL = "exchange.ApiToken"  # noqa: S105 - a model label, not a secret
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTO_REFRESH": env.bool("API_TOKEN_AUTO_REFRESH", default=False),
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exchange engine API",
    "DESCRIPTION": "Escrow orders and BTC/XMR swaps on your own nodes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"CurrencyEnum": "orders.models.Currency.choices"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=262_144)

# Shops (stores) and their Greenfield API keys (``Authorization: token <key>``, /api/v1/).
STORES_PER_USER = env.int("STORES_PER_USER", default=20)
GREENFIELD_KEYS_PER_USER = env.int("GREENFIELD_KEYS_PER_USER", default=50)
# What GET /api/v1/server/info says: the BTCPay Server version whose Greenfield API this
# engine answers like (plugins enable refunds from 1.7.6; payment method ids are 2.x's
# "BTC-CHAIN"), and the Tor hostname the operator serves it on, if any.
GREENFIELD_SERVER_VERSION = env.str("GREENFIELD_SERVER_VERSION", default="2.0.0")
GREENFIELD_ONION = env.str("GREENFIELD_ONION", default="")
# Node sync as /api/v1/server/info and /api/v1/health report it is at most this old.
GREENFIELD_SYNC_CACHE_SECONDS = env.float("GREENFIELD_SYNC_CACHE_SECONDS", default=5.0)
