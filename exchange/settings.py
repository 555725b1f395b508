"""Settings for the exchange engine: one module, driven by environment variables.

Every value has a safe default for a local regtest stack, except the secrets that must
exist in production (SECRET_KEY when DEBUG is off), which fail at start-up by name.
A `.env` file beside manage.py is read if present; real environment variables win.

This is the module Django loads (DJANGO_SETTINGS_MODULE=exchange.settings) and every
setting is one of its names. Cohesive groups are read in the ``exchange.config`` modules
and named here one by one, in their sections: ``env`` (the environment reader, .env, the
project's paths), ``cache`` (Redis), ``workers`` (Celery and Flower), ``coins`` (each
coin's settings block and the per-coin tables built from the blocks), ``api`` (DRF, API
tokens, the OpenAPI schema) and ``logs`` (the log level and format).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from exchange.config import api, cache, coins, logs, workers
from exchange.config.env import BASE_DIR, VAR_DIR, env, environ_matching

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (export SECRET_KEY=... or put it in .env)"
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "django_celery_beat",
    "axes",
    "exchange",
    "wallets",
    "ownership",
    "funding",
    "orders",
    "rates",
    "swaps",
    "stores",
    "greenfield",
    "invoices",
    "staff",
    "operations",
    "webhooks",
    "web",
]

MIDDLEWARE = [
    "exchange.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Login attempts are limited by django-axes: AXES_FAILURE_LIMIT wrong passwords for one
# username from one client address lock that pair out for AXES_COOLOFF_HOURS (429). The
# client address is the throttles' (exchange.clients, TRUSTED_PROXIES).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "exchange.clients.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429

ROOT_URLCONF = "exchange.urls"
WSGI_APPLICATION = "exchange.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: MariaDB/MySQL through mysqlclient, READ COMMITTED (see DESIGN.md) ---
DATABASES = {
    "default": env.db("DATABASE_URL", default="mysql://root@127.0.0.1:3306/exchange"),
}
DATABASES["default"].update(
    {
        "CONN_MAX_AGE": env.int("DB_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=5),
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES', innodb_lock_wait_timeout=10",
        },
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, broker and the seed's key schema (exchange.config.cache) ---
REDIS_URL = cache.REDIS_URL
REDIS_SOCKET_TIMEOUT = cache.REDIS_SOCKET_TIMEOUT
CACHES = cache.CACHES
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = cache.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS

# --- Celery and Flower (exchange.config.workers) ---
CELERY_BROKER_URL = workers.CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = workers.CELERY_TASK_IGNORE_RESULT
CELERY_TASK_SERIALIZER = workers.CELERY_TASK_SERIALIZER
CELERY_RESULT_SERIALIZER = workers.CELERY_RESULT_SERIALIZER
CELERY_ACCEPT_CONTENT = workers.CELERY_ACCEPT_CONTENT
CELERY_TIMEZONE = workers.CELERY_TIMEZONE
CELERY_TASK_SOFT_TIME_LIMIT = workers.CELERY_TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = workers.CELERY_TASK_TIME_LIMIT
CELERY_WORKER_PREFETCH_MULTIPLIER = workers.CELERY_WORKER_PREFETCH_MULTIPLIER
CELERY_WORKER_HIJACK_ROOT_LOGGER = workers.CELERY_WORKER_HIJACK_ROOT_LOGGER
CELERY_WORKER_SEND_TASK_EVENTS = workers.CELERY_WORKER_SEND_TASK_EVENTS
CELERY_TASK_SEND_SENT_EVENT = workers.CELERY_TASK_SEND_SENT_EVENT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = workers.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP
CELERY_BEAT_SCHEDULER = workers.CELERY_BEAT_SCHEDULER
CELERY_BEAT_SYNC_EVERY = workers.CELERY_BEAT_SYNC_EVERY
CELERY_VISIBILITY_TIMEOUT = workers.CELERY_VISIBILITY_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = workers.CELERY_BROKER_TRANSPORT_OPTIONS
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = (
    workers.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS
)
CELERY_QUEUE_TYPE = workers.CELERY_QUEUE_TYPE
CELERY_QUEUE_DELIVERY_LIMIT = workers.CELERY_QUEUE_DELIVERY_LIMIT
CELERY_QUEUES = workers.CELERY_QUEUES
CELERY_TASK_DEFAULT_QUEUE = workers.CELERY_TASK_DEFAULT_QUEUE
HEARTBEAT_INTERVAL_SECONDS = workers.HEARTBEAT_INTERVAL_SECONDS
HEARTBEAT_STALE_SECONDS = workers.HEARTBEAT_STALE_SECONDS
BEAT_LOCK_TTL_SECONDS = workers.BEAT_LOCK_TTL_SECONDS
FLOWER_PORT = workers.FLOWER_PORT
FLOWER_BASIC_AUTH = workers.FLOWER_BASIC_AUTH

# --- Nodes: one block per chain. Networks: regtest (default), testnet, mainnet. ---
NODE_CONNECT_TIMEOUT = env.float("NODE_CONNECT_TIMEOUT", default=2.0)
NODE_READ_TIMEOUT = env.float("NODE_READ_TIMEOUT", default=15.0)
HEALTH_NODE_TIMEOUT = env.float("HEALTH_NODE_TIMEOUT", default=1.0)
# Anonymous /healthz callers get a status at most this old (exchange/health.py).
HEALTH_PUBLIC_CACHE_SECONDS = env.float("HEALTH_PUBLIC_CACHE_SECONDS", default=1.0)

# --- Coins: one settings block each (wallets.chains.registry names it) ---
# The blocks, and the per-coin tables below built from them, are in exchange.config.coins.
# Rescan this many blocks below the last scanned height, to follow short reorgs.
SCAN_REORG_MARGIN = coins.SCAN_REORG_MARGIN
# A bitcoin scan reaches back this many seconds past the last scan's read.
SCAN_TIME_OVERLAP_SECONDS = coins.SCAN_TIME_OVERLAP_SECONDS
# The books keep balances in signed 64-bit columns: no order may be larger.
BOOKS_MAX_AMOUNT = coins.BOOKS_MAX_AMOUNT
BITCOIN = coins.BITCOIN
MONERO = coins.MONERO
# Each coin's block by its currency code and by its chain name (the registry's entries);
# Coin.conf reads it from COIN_SETTINGS.
COIN_SETTINGS = coins.COIN_SETTINGS
CHAIN_SETTINGS = coins.CHAIN_SETTINGS

# The regtest stack started by `manage.py regtest up` keeps its data and pid files here.
REGTEST_HOME = Path(env.str("REGTEST_HOME", default=str(VAR_DIR / "regtest")))
# Scripts the Monero daemons run on new transactions/blocks (push path, see wallets).
CHAIN_NOTIFY_KEY = env.str("CHAIN_NOTIFY_KEY", default="chain:notify")

# --- Wallet accounts pool ---
# The pool's target follows demand: the most accounts handed out in any
# POOL_DEMAND_WINDOW_MINUTES of the last POOL_DEMAND_LOOKBACK_HOURS, times
# POOL_DEMAND_FACTOR, held between POOL_MIN (the floor) and POOL_MAX (the ceiling).
POOL_MIN = env.int("POOL_MIN", default=20)
POOL_MAX = env.int("POOL_MAX", default=2000)
POOL_DEMAND_FACTOR = Decimal(env.str("POOL_DEMAND_FACTOR", default="1.5"))
POOL_DEMAND_WINDOW_MINUTES = env.int("POOL_DEMAND_WINDOW_MINUTES", default=10)
POOL_DEMAND_LOOKBACK_HOURS = env.int("POOL_DEMAND_LOOKBACK_HOURS", default=24)
POOL_BATCH_SIZE = env.int("POOL_BATCH_SIZE", default=5)
MASTER_WALLET_CAPACITY = env.int("MASTER_WALLET_CAPACITY", default=100_000)
# An empty pool answers 503 with a Retry-After computed from the refill rate and the
# clients refused before; this is the longest it gives (and the one without a known rate).
POOL_EMPTY_RETRY_AFTER_SECONDS = env.int("POOL_EMPTY_RETRY_AFTER_SECONDS", default=300)
# Automatic refills share the wallet's single writer with payouts: they stand aside while
# a payout of the chain was touched this recently, and make at most this many accounts a
# minute (0: no limit), so a client burning accounts cannot starve payouts.
POOL_YIELD_TO_PAYOUTS_SECONDS = env.int("POOL_YIELD_TO_PAYOUTS_SECONDS", default=30)
POOL_REFILL_PER_MINUTE = coins.POOL_REFILL_PER_MINUTE
# A restore makes this many accounts past the highest index its backup knows, on each
# master wallet, and hands none of them out: accounts made after the backup have those
# indices (the same keys), and what they receive must show in reconcile, not be credited
# to a new order (README, Running it with real coins).
RESTORE_ACCOUNT_GAP = env.int("RESTORE_ACCOUNT_GAP", default=500)
# A wallet just restored reads the chain again and answers nothing else meanwhile: the
# restore's node reads wait this long (seconds) instead of NODE_READ_TIMEOUT.
RESTORE_NODE_READ_TIMEOUT = env.float("RESTORE_NODE_READ_TIMEOUT", default=600.0)

# --- Deposits ---
# Confirmations a deposit needs before it is credited, by amount (base units).
# Monero deposits are also credited only once unlocked (10 blocks).
CONFIRMATIONS_REQUIRED = coins.CONFIRMATIONS_REQUIRED
# After this many confirmations a deposit is settled: scans stop revisiting it (the most
# it can need before it is credited, plus SCAN_REORG_MARGIN, to see a reorg).
FINAL_CONFIRMATIONS = coins.FINAL_CONFIRMATIONS

# --- Escrow orders ---
PLATFORM_FEE_BPS = env.int("PLATFORM_FEE_BPS", default=100)
ORDER_EXPIRY_SECONDS = env.int("ORDER_EXPIRY_SECONDS", default=900)
# Orders one buyer may have awaiting their deposit at a time (each holds a deposit
# account that is never handed out again). 0: no limit.
ORDER_BUYER_MAX_UNPAID = env.int("ORDER_BUYER_MAX_UNPAID", default=20)
# Staff moving money on someone else's order or swap need the action's permission
# (staff.StaffApproval's permissions, granted through the roles of staff.roles) and,
# above these amounts (base units) or for any change of address, a second staff member's
# approval before anything is paid.
# A pending approval older than this can only be rejected: ask again.
STAFF_APPROVAL_TTL_HOURS = env.int("STAFF_APPROVAL_TTL_HOURS", default=24)
STAFF_APPROVAL_ABOVE = coins.STAFF_APPROVAL_ABOVE
# Deposits after expiry are still watched (and refunded) this long before the account retires.
LATE_DEPOSIT_WATCH_SECONDS = env.int("LATE_DEPOSIT_WATCH_SECONDS", default=86_400)
# An order paid this close to its amount (base units) counts as paid.
ORDER_UNDERPAY_TOLERANCE = coins.ORDER_UNDERPAY_TOLERANCE
# Smallest order: a payout must stay worth its network fee.
ORDER_MIN_AMOUNT = coins.ORDER_MIN_AMOUNT
ORDER_MAX_AMOUNT = coins.ORDER_MAX_AMOUNT
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=86_400)

# --- Payouts ---
# A waiting payout (pending/signed) untouched this long is re-enqueued by the sweep.
PAYOUT_SWEEP_AFTER_SECONDS = env.int("PAYOUT_SWEEP_AFTER_SECONDS", default=60)
# A relayed payout the chain has not shown this long has its stored bytes relayed again.
PAYOUT_RERELAY_AFTER_SECONDS = env.int("PAYOUT_RERELAY_AFTER_SECONDS", default=600)
# First fee guess for Monero payouts (piconero) before a payout has measured one.
MONERO_FEE_GUESS = env.int("MONERO_FEE_GUESS", default=30_000_000)
# Proposals built (never relayed) to find the fee that makes sent + fee equal the amount.
MONERO_FEE_ATTEMPTS = env.int("MONERO_FEE_ATTEMPTS", default=5)

# --- Webhooks ---
# Seconds before each retry of a failed delivery: 10 s, 1 min, then 10 min, up to 6 retries
# (7 attempts in all). The longest must stay under CELERY_VISIBILITY_TIMEOUT.
WEBHOOK_RETRY_DELAYS = [
    int(x)
    for x in env.list("WEBHOOK_RETRY_DELAYS", default=["10", "60", "600", "600", "600", "600"])
]
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
# At most this much of a receiver's answer is read (and kept in the attempt's log).
WEBHOOK_EXCERPT_BYTES = env.int("WEBHOOK_EXCERPT_BYTES", default=500)
# Endpoints one user may register.
WEBHOOK_MAX_ENDPOINTS_PER_USER = env.int("WEBHOOK_MAX_ENDPOINTS_PER_USER", default=10)
# Greenfield webhooks one store may register (stores/{storeId}/webhooks).
GREENFIELD_MAX_WEBHOOKS_PER_STORE = env.int("GREENFIELD_MAX_WEBHOOKS_PER_STORE", default=10)
# Internal destinations the operator allows (``host`` or ``host:port``); every other
# destination must resolve to public addresses only (webhooks/outbound.py).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# Deliveries through this proxy (e.g. ``socks5h://127.0.0.1:9050`` for Tor), so receivers
# never learn the server's address. Empty: direct.
WEBHOOK_PROXY_URL = env.str("WEBHOOK_PROXY_URL", default="")

# The recovery sweep enqueues the next step of work quiet for this long.
RECOVERY_AFTER_SECONDS = env.int("RECOVERY_AFTER_SECONDS", default=60)

# --- Rates ---
# Providers in use, by name (rates/providers/<name>.py). ``static`` reads RATES_STATIC_*.
RATES_PROVIDERS = env.list("RATES_PROVIDERS", default=["static"])
# Fiat currencies every coin is priced in (with the coin pairs): rates/pairs.py.
RATES_FIAT_CURRENCIES = env.list("RATES_FIAT_CURRENCIES", default=["USD", "EUR"])
# Fixed prices of the static provider (regtest and demos): 1 XMR in BTC, 1 BTC in USD and
# EUR. Any other pair's is RATES_STATIC_<BASE>_<QUOTE> (RATES_STATIC_XMR_USD,
# RATES_STATIC_BTC_GBP ...), a setting when its variable is set; without it a coin's fiat
# price is derived through BTC (XMR/USD = XMR/BTC x BTC/USD).
RATES_STATIC_XMR_BTC = env.str("RATES_STATIC_XMR_BTC", default="0.0028")
RATES_STATIC_BTC_USD = env.str("RATES_STATIC_BTC_USD", default="60000")
RATES_STATIC_BTC_EUR = env.str("RATES_STATIC_BTC_EUR", default="55000")
globals().update(environ_matching(r"RATES_STATIC_[A-Z0-9]{2,10}_[A-Z0-9]{2,10}"))
RATES_PROVIDER_TIMEOUT = env.float("RATES_PROVIDER_TIMEOUT", default=5.0)
# A source further than this from the median (percent) is dropped.
RATES_MAX_DEVIATION_PERCENT = env.str("RATES_MAX_DEVIATION_PERCENT", default="5")
# Sources that must agree; with a single provider configured the quorum is 1.
RATES_QUORUM = env.int("RATES_QUORUM", default=2)
# An aggregate older than this is not used: quoting fails closed.
RATES_MAX_AGE_SECONDS = env.int("RATES_MAX_AGE_SECONDS", default=1200)
RATES_REFRESH_SECONDS = env.int("RATES_REFRESH_SECONDS", default=900)
# Base URL of each provider's API (tests point them at a local server) and optional keys.
RATES_PROVIDER_URLS = {
    "kraken": env.str("RATES_KRAKEN_URL", default="https://api.kraken.com"),
    "kucoin": env.str("RATES_KUCOIN_URL", default="https://api.kucoin.com"),
    "coingecko": env.str("RATES_COINGECKO_URL", default="https://api.coingecko.com"),
    "bitfinex": env.str("RATES_BITFINEX_URL", default="https://api-pub.bitfinex.com"),
}
RATES_COINGECKO_API_KEY = env.str("RATES_COINGECKO_API_KEY", default="")

# --- Swaps ---
# Spread per direction, basis points below the market rate.
SWAP_SPREAD_BPS = {
    "BTC-XMR": env.int("SWAP_SPREAD_BPS_BTC_XMR", default=50),
    "XMR-BTC": env.int("SWAP_SPREAD_BPS_XMR_BTC", default=50),
}
SWAP_QUOTE_TTL_SECONDS = env.int("SWAP_QUOTE_TTL_SECONDS", default=900)
# Estimated network fee of a payout, base units (shown in quotes, taken from the payout).
SWAP_NETWORK_FEE = coins.SWAP_NETWORK_FEE
# A deposit this close to the quoted amount (base units) matches a fixed quote.
SWAP_AMOUNT_TOLERANCE = coins.SWAP_AMOUNT_TOLERANCE
# Floating swaps reserve this much more than the quote, for the rate to move.
SWAP_FLOATING_RESERVE_MARGIN_BPS = env.int("SWAP_FLOATING_RESERVE_MARGIN_BPS", default=500)
# A fixed quote's deposit seen before expiry must also confirm within this long after it.
SWAP_CONFIRM_GRACE_SECONDS = env.int("SWAP_CONFIRM_GRACE_SECONDS", default=3600)
# Limits that keep one client from holding the house's liquidity (swaps/liquidity.py). The
# shares are of the liquidity before any reservation; "unpaid" is a swap still awaiting
# its deposit. A client is a user, or an address for anonymous callers (exchange/clients).
SWAP_MAX_SHARE_BPS = env.int("SWAP_MAX_SHARE_BPS", default=2500)
SWAP_CLIENT_MAX_SHARE_BPS = env.int("SWAP_CLIENT_MAX_SHARE_BPS", default=5000)
SWAP_CLIENT_MAX_UNPAID = env.int("SWAP_CLIENT_MAX_UNPAID", default=3)
# Expired quotes (never used by a swap) are deleted after this long.
SWAP_QUOTE_KEEP_SECONDS = env.int("SWAP_QUOTE_KEEP_SECONDS", default=86_400)
# Swaps (and quotes) without an account; the swap's public id is then the way to read it.
SWAPS_ALLOW_ANONYMOUS = env.bool("SWAPS_ALLOW_ANONYMOUS", default=True)

# --- API (exchange.config.api) ---
API_PAGE_SIZE = api.API_PAGE_SIZE
API_MAX_PAGE_SIZE = api.API_MAX_PAGE_SIZE
# DRF: token and session authentication, pages, the exception handler, throttles.
REST_FRAMEWORK = api.REST_FRAMEWORK
# API tokens (django-rest-knox, exchange.ApiToken): a token lives API_TOKEN_TTL_DAYS
# unless its maker picks fewer or more days (at most API_TOKEN_MAX_DAYS).
API_TOKEN_TTL_DAYS = api.API_TOKEN_TTL_DAYS
API_TOKEN_MAX_DAYS = api.API_TOKEN_MAX_DAYS
API_TOKENS_PER_USER = api.API_TOKENS_PER_USER
KNOX_TOKEN_MODEL = api.KNOX_TOKEN_MODEL
REST_KNOX = api.REST_KNOX
SPECTACULAR_SETTINGS = api.SPECTACULAR_SETTINGS
DATA_UPLOAD_MAX_MEMORY_SIZE = api.DATA_UPLOAD_MAX_MEMORY_SIZE
# Stores and the Greenfield API under /api/v1/ (greenfield/): limits, what server/info says.
STORES_PER_USER = api.STORES_PER_USER
GREENFIELD_KEYS_PER_USER = api.GREENFIELD_KEYS_PER_USER
GREENFIELD_SERVER_VERSION = api.GREENFIELD_SERVER_VERSION
GREENFIELD_ONION = api.GREENFIELD_ONION
GREENFIELD_SYNC_CACHE_SECONDS = api.GREENFIELD_SYNC_CACHE_SECONDS

# --- Auth, i18n, static ---
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/orders/"
LOGOUT_REDIRECT_URL = "/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
# gunicorn serves static files through WhiteNoise, straight from the app directories.
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Behind a TLS proxy (README, Running it in production) ---
# How many reverse proxies stand in front of the web process. 0, the default: the client
# is the connection's address and X-Forwarded-For / X-Forwarded-Proto are ignored, so a
# client cannot pick its own identity (throttles, idempotency scopes). N: the N-th address
# from the right of X-Forwarded-For is the client, and X-Forwarded-Proto says https.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXIES
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS=1: the site is served over TLS only: http redirects to https, cookies are secure,
# browsers are told to keep to https (HSTS).
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # /healthz and /metrics are read over loopback by the operator's monitoring.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# Crash injection points for the fault suite (exchange/faults.py); never set in production.
FAULT_INJECTION = env.bool("FAULT_INJECTION", default=False)

# --- Logging (exchange.config.logs): json, one object per line, or plain text ---
LOG_LEVEL = logs.LOG_LEVEL
LOG_FORMAT = logs.LOG_FORMAT
LOGGING_CONFIG = logs.LOGGING_CONFIG  # None: not Django's set-up, but the next line's
logs.configure_logging()

# /metrics answers staff sessions and ``Authorization: Bearer <METRICS_TOKEN>``.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
FLOWER_URL = env.str("FLOWER_URL", default=f"http://127.0.0.1:{FLOWER_PORT}/")
