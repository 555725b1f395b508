"""Settings for the exchange engine: one module, driven by environment variables.

Every value has a safe default for a local regtest stack, except the secrets that must
exist in production (SECRET_KEY when DEBUG is off), which fail at start-up by name.
A `.env` file beside manage.py is read if present; real environment variables win.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from wallets.chains.registry import COINS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

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

# --- Redis: cache, broker and the seed's key schema (a cache the DB can rebuild) ---
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            # A dead Redis must not take the API down: the DB is the source of truth.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- Celery ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "exchange.beat:LockedDatabaseScheduler"
# Save last_run_at after every sent task, so a beat taking over from a dead leader
# does not resend what was already sent.
CELERY_BEAT_SYNC_EVERY = 1
# The longest countdown any task uses is WEBHOOK_RETRY_DELAYS' last step (600 s); a task
# runs at most CELERY_TASK_TIME_LIMIT (300 s). The visibility timeout must exceed both,
# or Redis hands a delayed or running message to a second worker.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_QUEUES = ("transactions", "scheduled", "rates", "webhooks")
CELERY_TASK_DEFAULT_QUEUE = "transactions"
HEARTBEAT_INTERVAL_SECONDS = env.int("HEARTBEAT_INTERVAL_SECONDS", default=15)
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=90)
BEAT_LOCK_TTL_SECONDS = env.int("BEAT_LOCK_TTL_SECONDS", default=30)

# --- Flower (operators) ---
FLOWER_PORT = env.int("FLOWER_PORT", default=5555)
FLOWER_BASIC_AUTH = env.str("FLOWER_BASIC_AUTH", default="")

# --- Nodes: one block per chain. Networks: regtest (default), testnet, mainnet. ---
NODE_CONNECT_TIMEOUT = env.float("NODE_CONNECT_TIMEOUT", default=2.0)
NODE_READ_TIMEOUT = env.float("NODE_READ_TIMEOUT", default=15.0)
HEALTH_NODE_TIMEOUT = env.float("HEALTH_NODE_TIMEOUT", default=1.0)
# Anonymous /healthz callers get a status at most this old (exchange/health.py).
HEALTH_PUBLIC_CACHE_SECONDS = env.float("HEALTH_PUBLIC_CACHE_SECONDS", default=1.0)

# --- Coins: one settings block each (wallets.chains.registry names it) ---
# Everything configurable about a coin is in its block: its nodes and wallets, the
# confirmations a deposit needs by amount (base units, ending with a catch-all "*"), the
# blocks before a received output may be spent, order limits, the staff approval
# threshold, and the network fee a payout is expected to take.
# Rescan this many blocks below the last scanned height, to follow short reorgs.
SCAN_REORG_MARGIN = env.int("SCAN_REORG_MARGIN", default=10)


def _confirmation_table(name: str, default: str) -> list[tuple[int | None, int]]:
    """``"10000000:1,100000000:2,*:6"``: up to 10000000 base units 1 confirmation, ..."""
    table: list[tuple[int | None, int]] = []
    for step in env.str(name, default=default).split(","):
        limit, _, confirmations = step.strip().partition(":")
        if not confirmations.isdigit() or not (limit == "*" or limit.isdigit()):
            raise ImproperlyConfigured(f"{name}: {step!r} is not LIMIT:CONFIRMATIONS")
        table.append((None if limit == "*" else int(limit), int(confirmations)))
    if table[-1][0] is not None:
        raise ImproperlyConfigured(f"{name} must end with a *:N step")
    limits = [limit for limit, _ in table[:-1]]
    needed = [confirmations for _, confirmations in table]
    if None in limits or limits != sorted(set(limits)) or needed != sorted(needed) or needed[0] < 1:
        raise ImproperlyConfigured(
            f"{name}: limits must rise, confirmations start at 1 or more and never fall"
        )
    return table


# The books keep balances in signed 64-bit columns: no order may be larger.
BOOKS_MAX_AMOUNT = 2**63 - 1

BITCOIN = {
    "network": env.str("BITCOIN_NETWORK", default="regtest"),
    "node_url": env.str("BITCOIN_NODE_URL", default="http://127.0.0.1:48332"),
    "wallet_url": env.str("BITCOIN_WALLET_URL", default="http://127.0.0.1:48334"),
    "api_key": env.str("BITCOIN_API_KEY", default=""),
    "wallet_id": env.str("BITCOIN_WALLET_ID", default="primary"),
    "customer_wallet_id": env.str("BITCOIN_CUSTOMER_WALLET_ID", default="customer"),
    "confirmations": _confirmation_table("CONFIRMATIONS_BTC", "10000000:1,100000000:2,*:6"),
    "unlock_blocks": 0,
    # Smallest order: a payout must stay worth its network fee.
    "min_amount": env.int("ORDER_MIN_AMOUNT_BTC", default=20_000),
    "max_amount": env.int("ORDER_MAX_AMOUNT_BTC", default=21_000_000 * 10**8),
    "underpay_tolerance": env.int("ORDER_UNDERPAY_TOLERANCE_BTC", default=0),
    "approval_above": env.int("STAFF_APPROVAL_ABOVE_BTC", default=1_000_000),
    "network_fee_estimate": env.int("SWAP_NETWORK_FEE_BTC", default=10_000),
    "swap_amount_tolerance": env.int("SWAP_AMOUNT_TOLERANCE_BTC", default=0),
    "pool_refill_per_minute": env.int("POOL_REFILL_PER_MINUTE_BTC", default=300),
}
MONERO = {
    "network": env.str("MONERO_NETWORK", default="regtest"),
    # monerod's unrestricted RPC (the engine reads pool transactions a restricted port hides),
    # behind its --rpc-login.
    "daemon_url": env.str("MONERO_DAEMON_URL", default="http://127.0.0.1:18081"),
    "daemon_user": env.str("MONERO_DAEMON_USER", default=""),
    "daemon_password": env.str("MONERO_DAEMON_PASSWORD", default=""),
    # The restricted port the regtest stack's monerod also serves, for anything but the engine.
    "daemon_restricted_url": env.str(
        "MONERO_DAEMON_RESTRICTED_URL", default="http://127.0.0.1:18089"
    ),
    "wallet_url": env.str("MONERO_WALLET_URL", default="http://127.0.0.1:18083"),
    "wallet_user": env.str("MONERO_WALLET_USER", default=""),
    "wallet_password": env.str("MONERO_WALLET_PASSWORD", default=""),
    "wallet_file": env.str("MONERO_WALLET_FILE", default="exchange"),
    "customer_wallet_url": env.str("MONERO_CUSTOMER_WALLET_URL", default="http://127.0.0.1:18084"),
    # Where the regtest stack's master monero-wallet-rpc finds its daemon (default: the
    # daemon above; the fault tests put a proxy in between).
    "wallet_daemon_address": env.str("MONERO_WALLET_DAEMON_ADDRESS", default=""),
    "customer_wallet_file": env.str("MONERO_CUSTOMER_WALLET_FILE", default="customer"),
    # monero-wallet-rpc can take well over 10 s for a transfer and still succeed.
    "transfer_read_timeout": env.float("MONERO_TRANSFER_READ_TIMEOUT", default=120.0),
    "confirmations": _confirmation_table(
        "CONFIRMATIONS_XMR", "1000000000000:1,10000000000000:2,*:6"
    ),
    # A received output is spendable after 10 blocks: deposits are credited once unlocked.
    "unlock_blocks": 10,
    "min_amount": env.int("ORDER_MIN_AMOUNT_XMR", default=10_000_000_000),
    "max_amount": env.int("ORDER_MAX_AMOUNT_XMR", default=BOOKS_MAX_AMOUNT),
    "underpay_tolerance": env.int("ORDER_UNDERPAY_TOLERANCE_XMR", default=0),
    "approval_above": env.int("STAFF_APPROVAL_ABOVE_XMR", default=1_000_000_000_000),
    "network_fee_estimate": env.int("SWAP_NETWORK_FEE_XMR", default=4_000_000_000),
    "swap_amount_tolerance": env.int("SWAP_AMOUNT_TOLERANCE_XMR", default=0),
    "pool_refill_per_minute": env.int("POOL_REFILL_PER_MINUTE_XMR", default=60),
}
# Each coin's block by its currency code and by its chain name (the registry's entries).
COIN_SETTINGS = {c.code: globals()[c.settings_block] for c in COINS}
CHAIN_SETTINGS = {c.chain: globals()[c.settings_block] for c in COINS}
for _coin in COINS:
    if COIN_SETTINGS[_coin.code]["network"] not in ("regtest", "testnet", "mainnet"):
        raise ImproperlyConfigured(
            f"{_coin.settings_block}_NETWORK must be regtest, testnet or mainnet, "
            f"not {COIN_SETTINGS[_coin.code]['network']!r}"
        )
    if not 0 < COIN_SETTINGS[_coin.code]["max_amount"] <= BOOKS_MAX_AMOUNT:
        raise ImproperlyConfigured(
            f"ORDER_MAX_AMOUNT_{_coin.code} must be between 1 and {BOOKS_MAX_AMOUNT}"
        )

# The regtest stack started by `manage.py regtest up` keeps its data and pid files here.
REGTEST_HOME = Path(env.str("REGTEST_HOME", default=str(VAR_DIR / "regtest")))
# Scripts the Monero daemons run on new transactions/blocks (push path, see wallets).
CHAIN_NOTIFY_KEY = env.str("CHAIN_NOTIFY_KEY", default="chain:notify")

# --- Wallet accounts pool ---
POOL_MIN = env.int("POOL_MIN", default=20)
POOL_BATCH_SIZE = env.int("POOL_BATCH_SIZE", default=5)
MASTER_WALLET_CAPACITY = env.int("MASTER_WALLET_CAPACITY", default=100_000)
POOL_EMPTY_RETRY_AFTER_SECONDS = env.int("POOL_EMPTY_RETRY_AFTER_SECONDS", default=30)
# Automatic refills share the wallet's single writer with payouts: they stand aside while
# a payout of the chain was touched this recently, and make at most this many accounts a
# minute (0: no limit), so a client burning accounts cannot starve payouts.
POOL_YIELD_TO_PAYOUTS_SECONDS = env.int("POOL_YIELD_TO_PAYOUTS_SECONDS", default=30)
POOL_REFILL_PER_MINUTE = {
    chain: block["pool_refill_per_minute"] for chain, block in CHAIN_SETTINGS.items()
}


# Confirmations a deposit needs before it is credited, by amount (base units).
# Monero deposits are also credited only once unlocked (10 blocks).
CONFIRMATIONS_REQUIRED = {chain: block["confirmations"] for chain, block in CHAIN_SETTINGS.items()}
# After this many confirmations a deposit is settled: scans stop revisiting it. A deposit is
# followed for the reorg margin past the most it can need before it is credited, so a
# reorg of the blocks that credited it is still seen.
FINAL_CONFIRMATIONS = {
    chain: max(block["unlock_blocks"], *(c for _, c in block["confirmations"])) + SCAN_REORG_MARGIN
    for chain, block in CHAIN_SETTINGS.items()
}

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
STAFF_APPROVAL_ABOVE = {code: block["approval_above"] for code, block in COIN_SETTINGS.items()}
# Deposits after expiry are still watched (and refunded) this long before the account retires.
LATE_DEPOSIT_WATCH_SECONDS = env.int("LATE_DEPOSIT_WATCH_SECONDS", default=86_400)
# An order paid this close to its amount (base units) counts as paid.
ORDER_UNDERPAY_TOLERANCE = {
    code: block["underpay_tolerance"] for code, block in COIN_SETTINGS.items()
}
# Smallest order: a payout must stay worth its network fee.
ORDER_MIN_AMOUNT = {code: block["min_amount"] for code, block in COIN_SETTINGS.items()}
ORDER_MAX_AMOUNT = {code: block["max_amount"] for code, block in COIN_SETTINGS.items()}
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
# Price of 1 XMR in BTC for the static provider (regtest and demos).
RATES_STATIC_XMR_BTC = env.str("RATES_STATIC_XMR_BTC", default="0.0028")
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
SWAP_NETWORK_FEE = {code: block["network_fee_estimate"] for code, block in COIN_SETTINGS.items()}
# A deposit this close to the quoted amount (base units) matches a fixed quote.
SWAP_AMOUNT_TOLERANCE = {
    code: block["swap_amount_tolerance"] for code, block in COIN_SETTINGS.items()
}
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

# --- API ---
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

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object per line (with request, task, order, swap and payout ids); plain: text.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING_CONFIG = None  # applied below, after structlog is configured


def _configure_logging() -> None:
    import logging.config

    from exchange.logging import logging_config

    logging.config.dictConfig(logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT))


_configure_logging()

# /metrics answers staff sessions and ``Authorization: Bearer <METRICS_TOKEN>``.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
FLOWER_URL = env.str("FLOWER_URL", default=f"http://127.0.0.1:{FLOWER_PORT}/")
