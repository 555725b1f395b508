"""The environment of one isolated slot: a test run (``TEST_SLOT``, 0-9) or the benchmarks.

Slot N listens on ports 20000 + 100·N and up, uses Redis database N + 1, keeps its regtest
data in a folder of its own and its own database; its node credentials and secrets are
named after who runs in it (``tests``, ``bench``). Nothing in it touches the development
stack or another slot. Plain Python, importable before Django (the tests load their
environment as a pytest plugin).
"""

from __future__ import annotations

from pathlib import Path


def port_base(slot: int) -> int:
    return 20000 + slot * 100


def slot_env(slot: int, *, label: str, database_url: str, regtest_home: Path) -> dict[str, str]:
    """The settings of slot ``slot`` as environment variables (regtest on both chains)."""
    base = port_base(slot)
    redis_url = f"redis://127.0.0.1:6379/{1 + slot}"
    return {
        "DEBUG": "0",
        "SECRET_KEY": f"{label}-only-secret-key-0123456789abcdef",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "BITCOIN_NETWORK": "regtest",
        "BITCOIN_API_KEY": f"{label}-regtest-api-key",
        "BITCOIN_NODE_URL": f"http://127.0.0.1:{base + 32}",
        "BITCOIN_WALLET_URL": f"http://127.0.0.1:{base + 34}",
        "MONERO_NETWORK": "regtest",
        "MONERO_DAEMON_URL": f"http://127.0.0.1:{base + 81}",
        "MONERO_DAEMON_RESTRICTED_URL": f"http://127.0.0.1:{base + 85}",
        "MONERO_DAEMON_USER": label,
        "MONERO_DAEMON_PASSWORD": f"{label}-monerod-rpc-password",
        "MONERO_WALLET_URL": f"http://127.0.0.1:{base + 83}",
        "MONERO_CUSTOMER_WALLET_URL": f"http://127.0.0.1:{base + 84}",
        "MONERO_WALLET_USER": label,
        "MONERO_WALLET_PASSWORD": f"{label}-wallet-rpc-password",
        "REGTEST_HOME": str(regtest_home),
        "FLOWER_PORT": str(base + 55),
        "FLOWER_BASIC_AUTH": f"operator:{label}-flower-password",
        "WEB_PORT": str(base + 80),
        "HEARTBEAT_INTERVAL_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
        "POOL_MIN": "6",
        # The pool's target stays at the floor unless a test or benchmark raises the
        # ceiling: a session's many allocations would otherwise grow every pool behind it.
        "POOL_MAX": "6",
        "POOL_BATCH_SIZE": "6",
    }


def node_ports(slot: int) -> dict[str, int]:
    """Every port the slot's regtest stack listens on."""
    base = port_base(slot)
    return {
        "bcoin node": base + 32,
        "bcoin wallet": base + 34,
        "monerod": base + 81,
        "monerod restricted": base + 85,
        "monero-wallet-rpc": base + 83,
        "monero-wallet-rpc customer": base + 84,
    }
