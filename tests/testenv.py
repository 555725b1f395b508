"""Loaded by pytest before Django (``-p tests.testenv``): the test run's environment.

Tests never touch the development stack: they use their own database (pytest-django's
``test_`` database), their own Redis database, their own regtest stack on ports 20000+
and their own data directory. ``TEST_SLOT`` (0-9) moves all of it, so two runs can share
a machine.
"""

import os
from pathlib import Path

from devtools.slots import port_base, slot_env

ROOT = Path(__file__).resolve().parent.parent
SLOT = int(os.environ.get("TEST_SLOT", "0"))
PORT_BASE = port_base(SLOT)

TEST_ENV = {
    **slot_env(
        SLOT,
        label="tests",
        database_url=f"mysql://root@127.0.0.1:3306/exchange_t{SLOT}",
        regtest_home=ROOT / "var" / f"regtest-test-{SLOT}",
    ),
    # The master wallet reaches monerod through the fault suite's proxy (tests/faults).
    "MONERO_WALLET_DAEMON_ADDRESS": f"127.0.0.1:{PORT_BASE + 86}",
    "FAULT_INJECTION": "1",
    "PAYOUT_SWEEP_AFTER_SECONDS": "2",
    "PAYOUT_RERELAY_AFTER_SECONDS": "30",
    "RECOVERY_AFTER_SECONDS": "1",
    "WEBHOOK_RETRY_DELAYS": "1,1,1,1,1,1",
    "METRICS_TOKEN": "tests-metrics-token",
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
