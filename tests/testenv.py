"""Loaded by pytest before Django (``-p tests.testenv``): the test run's environment.

Tests never touch the development stack: they use their own database (pytest-django's
``test_`` database), their own Redis database, their own regtest stack on ports 20000+
and their own data directory. ``TEST_SLOT`` (0-9) moves all of it, so two runs can share
a machine.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOT = int(os.environ.get("TEST_SLOT", "0"))
PORT_BASE = 20000 + SLOT * 100

TEST_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "tests-only-secret-key-0123456789abcdef",
    "DATABASE_URL": f"mysql://root@127.0.0.1:3306/exchange_t{SLOT}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{1 + SLOT}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{1 + SLOT}",
    "BITCOIN_NETWORK": "regtest",
    "BITCOIN_API_KEY": "tests-regtest-api-key",
    "BITCOIN_NODE_URL": f"http://127.0.0.1:{PORT_BASE + 32}",
    "BITCOIN_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 34}",
    "MONERO_NETWORK": "regtest",
    "MONERO_DAEMON_URL": f"http://127.0.0.1:{PORT_BASE + 81}",
    "MONERO_DAEMON_RESTRICTED_URL": f"http://127.0.0.1:{PORT_BASE + 85}",
    "MONERO_DAEMON_USER": "tests",
    "MONERO_DAEMON_PASSWORD": "tests-monerod-rpc-password",
    "MONERO_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 83}",
    "MONERO_CUSTOMER_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 84}",
    "MONERO_WALLET_USER": "tests",
    "MONERO_WALLET_PASSWORD": "tests-wallet-rpc-password",
    # The master wallet reaches monerod through the fault suite's proxy (tests/faults).
    "MONERO_WALLET_DAEMON_ADDRESS": f"127.0.0.1:{PORT_BASE + 86}",
    "REGTEST_HOME": str(ROOT / "var" / f"regtest-test-{SLOT}"),
    "FLOWER_PORT": str(PORT_BASE + 55),
    "FLOWER_BASIC_AUTH": "operator:tests-flower-password",
    "WEB_PORT": str(PORT_BASE + 80),
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "LOG_LEVEL": "WARNING",
    "POOL_MIN": "6",
    "FAULT_INJECTION": "1",
    "PAYOUT_SWEEP_AFTER_SECONDS": "2",
    "PAYOUT_RERELAY_AFTER_SECONDS": "30",
    "RECOVERY_AFTER_SECONDS": "1",
    "WEBHOOK_RETRY_DELAYS": "1,1,1,1,1,1",
    "METRICS_TOKEN": "tests-metrics-token",
    "POOL_BATCH_SIZE": "6",
    # Every anonymous test request comes from 127.0.0.1: that one address stands for many
    # customers. tests/security/test_exhaustion.py holds the limits at their defaults.
    "SWAP_CLIENT_MAX_UNPAID": "100000",
    "SWAP_CLIENT_MAX_SHARE_BPS": "10000",
    # One staff member acts alone on any amount; tests/security/test_staff.py holds the
    # approval thresholds at their defaults.
    "STAFF_APPROVAL_ABOVE_BTC": str(10**16),
    "STAFF_APPROVAL_ABOVE_XMR": str(10**19),
    # The tests' webhook receivers listen on these loopback ports; every other internal
    # destination stays refused (tests/security/test_ssrf.py).
    "WEBHOOK_ALLOWED_HOSTS": ",".join(f"127.0.0.1:{PORT_BASE + n}" for n in (93, 94)),
}
os.environ.update(TEST_ENV)
MONERO_DAEMON_PROXY_PORT = PORT_BASE + 86
WEBHOOK_RECEIVER_PORTS = (PORT_BASE + 93, PORT_BASE + 94)
# The test database pytest-django creates (workers and servers started by tests use it).
TEST_DATABASE_URL = f"mysql://root@127.0.0.1:3306/test_exchange_t{SLOT}"
