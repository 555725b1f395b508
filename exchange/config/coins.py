"""The coins' settings: one block per coin, and every per-coin table built from the blocks.

``wallets.chains.registry`` names each coin's block (``Coin.settings_block``) and reads it
from ``exchange.settings``, which imports every name here. Everything configurable about
a coin is in its block: its nodes and wallets, its network (regtest, the default,
testnet or mainnet), the confirmations a deposit needs by amount (base units, ending with
a catch-all "*"), the blocks before a received output may be spent, order limits, the
staff approval threshold, and the network fee a payout is expected to take. The tables
below give one of those values for every coin, by currency code or by chain name, as the
services read them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from exchange.config.env import confirmation_table, env
from wallets.chains.registry import COINS

# Types are declared: the registry reads django.conf.settings, so mypy checks this module
# and exchange.settings (which names these values) as one import cycle, in which a type
# inferred here is not yet known where exchange.settings reads it.

# Rescan this many blocks below the last scanned height, to follow short reorgs.
SCAN_REORG_MARGIN: int = env.int("SCAN_REORG_MARGIN", default=10)
# A bitcoin scan reads the transactions its wallet recorded since the last scan's read (and
# since the oldest deposit or payout still followed), from this many seconds earlier: the
# node's clock against this one's, and bcoin's whole-second times.
SCAN_TIME_OVERLAP_SECONDS: int = env.int("SCAN_TIME_OVERLAP_SECONDS", default=60)

# The books keep balances in signed 64-bit columns: no order may be larger.
BOOKS_MAX_AMOUNT = 2**63 - 1

BITCOIN: dict[str, Any] = {
    "network": env.str("BITCOIN_NETWORK", default="regtest"),
    "node_url": env.str("BITCOIN_NODE_URL", default="http://127.0.0.1:48332"),
    "wallet_url": env.str("BITCOIN_WALLET_URL", default="http://127.0.0.1:48334"),
    "api_key": env.str("BITCOIN_API_KEY", default=""),
    # The master wallet, made by the engine on first use as a native segwit wallet (bcoin's
    # own "primary" has a legacy default account, and bcoin remakes it with a fresh seed
    # on a new wallet database, so it could not be restored from its seed under its name).
    "wallet_id": env.str("BITCOIN_WALLET_ID", default="exchange"),
    "customer_wallet_id": env.str("BITCOIN_CUSTOMER_WALLET_ID", default="customer"),
    "confirmations": confirmation_table("CONFIRMATIONS_BTC", "10000000:1,100000000:2,*:6"),
    "unlock_blocks": 0,
    # Smallest order: a payout must stay worth its network fee.
    "min_amount": env.int("ORDER_MIN_AMOUNT_BTC", default=20_000),
    "max_amount": env.int("ORDER_MAX_AMOUNT_BTC", default=21_000_000 * 10**8),
    "underpay_tolerance": env.int("ORDER_UNDERPAY_TOLERANCE_BTC", default=0),
    "approval_above": env.int("STAFF_APPROVAL_ABOVE_BTC", default=1_000_000),
    "network_fee_estimate": env.int("SWAP_NETWORK_FEE_BTC", default=10_000),
    "swap_amount_tolerance": env.int("SWAP_AMOUNT_TOLERANCE_BTC", default=0),
    "pool_refill_per_minute": env.int("POOL_REFILL_PER_MINUTE_BTC", default=1200),
    # Payouts pay the node's fee estimate for confirmation within this many blocks, held
    # between the floor and the ceiling (satoshi per virtual byte); without an estimate
    # (a node that has not seen enough blocks, regtest), the floor.
    "fee_target_blocks": env.int("BITCOIN_FEE_TARGET_BLOCKS", default=6),
    "fee_rate_min": env.int("BITCOIN_FEE_RATE_MIN", default=2),
    "fee_rate_max": env.int("BITCOIN_FEE_RATE_MAX", default=200),
    # A relayed payout still unconfirmed this many blocks after it was relayed is bumped
    # once, by a child spending its change at the fee rate above (0: never bumped).
    "fee_bump_after_blocks": env.int("BITCOIN_FEE_BUMP_AFTER_BLOCKS", default=6),
}
MONERO: dict[str, Any] = {
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
    "confirmations": confirmation_table(
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
    "pool_refill_per_minute": env.int("POOL_REFILL_PER_MINUTE_XMR", default=120),
    # The fee priority payouts are built at: 0 the wallet's default, 1 (lowest) to 4.
    "fee_priority": env.int("MONERO_FEE_PRIORITY", default=0),
}
# Each coin's block by its currency code and by its chain name (the registry's entries).
COIN_SETTINGS: dict[str, Any] = {c.code: globals()[c.settings_block] for c in COINS}
CHAIN_SETTINGS: dict[str, Any] = {c.chain: globals()[c.settings_block] for c in COINS}
for _coin in COINS:
    if COIN_SETTINGS[_coin.code]["network"] not in ("regtest", "testnet", "mainnet"):
        raise ImproperlyConfigured(
            f"{_coin.settings_block}_NETWORK must be regtest, testnet or mainnet, "
            f"not {COIN_SETTINGS[_coin.code]['network']!r}"
        )
    if not 0 <= COIN_SETTINGS[_coin.code].get("fee_priority", 0) <= 4:
        raise ImproperlyConfigured(
            f"{_coin.settings_block}_FEE_PRIORITY must be 0 (the wallet's default) to 4,"
            f" not {COIN_SETTINGS[_coin.code]['fee_priority']}"
        )
    if not 0 < COIN_SETTINGS[_coin.code]["max_amount"] <= BOOKS_MAX_AMOUNT:
        raise ImproperlyConfigured(
            f"ORDER_MAX_AMOUNT_{_coin.code} must be between 1 and {BOOKS_MAX_AMOUNT}"
        )

# --- Wallet accounts pool ---
# Accounts an automatic refill makes a minute per chain (0: no limit), so a client burning
# accounts cannot starve payouts (POOL_YIELD_TO_PAYOUTS_SECONDS in exchange.settings).
POOL_REFILL_PER_MINUTE: dict[str, Any] = {
    chain: block["pool_refill_per_minute"] for chain, block in CHAIN_SETTINGS.items()
}

# --- Deposits ---
# Confirmations a deposit needs before it is credited, by amount (base units).
# Monero deposits are also credited only once unlocked (10 blocks).
CONFIRMATIONS_REQUIRED: dict[str, Any] = {
    chain: block["confirmations"] for chain, block in CHAIN_SETTINGS.items()
}
# After this many confirmations a deposit is settled: scans stop revisiting it. A deposit is
# followed for the reorg margin past the most it can need before it is credited, so a
# reorg of the blocks that credited it is still seen.
FINAL_CONFIRMATIONS: dict[str, Any] = {
    chain: max(block["unlock_blocks"], *(c for _, c in block["confirmations"])) + SCAN_REORG_MARGIN
    for chain, block in CHAIN_SETTINGS.items()
}

# --- Escrow orders ---
# Above these amounts (base units) staff moving money on someone else's order or swap need
# a second staff member's approval (STAFF_APPROVAL_TTL_HOURS in exchange.settings).
STAFF_APPROVAL_ABOVE: dict[str, Any] = {
    code: block["approval_above"] for code, block in COIN_SETTINGS.items()
}
# An order paid this close to its amount (base units) counts as paid.
ORDER_UNDERPAY_TOLERANCE: dict[str, Any] = {
    code: block["underpay_tolerance"] for code, block in COIN_SETTINGS.items()
}
# Smallest order: a payout must stay worth its network fee.
ORDER_MIN_AMOUNT: dict[str, Any] = {
    code: block["min_amount"] for code, block in COIN_SETTINGS.items()
}
ORDER_MAX_AMOUNT: dict[str, Any] = {
    code: block["max_amount"] for code, block in COIN_SETTINGS.items()
}

# --- Swaps ---
# Estimated network fee of a payout, base units (shown in quotes, taken from the payout).
SWAP_NETWORK_FEE: dict[str, Any] = {
    code: block["network_fee_estimate"] for code, block in COIN_SETTINGS.items()
}
# A deposit this close to the quoted amount (base units) matches a fixed quote.
SWAP_AMOUNT_TOLERANCE: dict[str, Any] = {
    code: block["swap_amount_tolerance"] for code, block in COIN_SETTINGS.items()
}
