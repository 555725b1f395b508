from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from devtools.processes import PYTHON, wait_until
from orders.services.vendors import vendor_payout_address_set
from rates.services import rates_refresh
from tests.chain import CHAIN_OF, receiver
from tests.factories import fill_pool
from tests.people import make_person
from tests.processes import launcher
from tests.testenv import MONERO_DAEMON_PROXY_PORT, PORT_BASE, ROOT, SLOT
from wallets.models import Chain
from wallets.services import balances_sync, deposits_scan, master_wallet_ensure


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", help="also run the long variants")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long variant: run with --long")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Always create the test database (tests using ``live_db`` are not seen by
    pytest-django's own detection), and drop it at the end of the run."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def clean_redis():
    """The test run's Redis database starts empty (broker queues included)."""
    from exchange.redis import get_redis

    get_redis().flushdb()


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Real commits in the test database, visible to worker processes.

    Tests using it create their own rows and never assume empty tables.
    """
    with django_db_blocker.unblock():
        yield


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def regtest(clean_redis):
    """The regtest stack, started fresh once per run and stopped at the end. The master
    Monero wallet reaches its daemon through the fault suite's proxy (tests/faults)."""
    from devtools.regtest import regtest_down, regtest_up
    from devtools.regtest_nodes import home

    quiet = lambda *_: None  # noqa: E731
    regtest_down(echo=quiet)
    shutil.rmtree(home(), ignore_errors=True)
    proxy = None
    if not _port_open(MONERO_DAEMON_PROXY_PORT):
        proxy = launcher.start(
            "monerod-proxy",
            [
                PYTHON,
                str(ROOT / "tests" / "faults" / "rpc_proxy.py"),
                "--listen",
                str(MONERO_DAEMON_PROXY_PORT),
                "--target",
                f"127.0.0.1:{PORT_BASE + 81}",
            ],
        )
        wait_until(lambda: _port_open(MONERO_DAEMON_PROXY_PORT), timeout=30, what="the proxy")
    regtest_up(echo=quiet)
    yield
    regtest_down(echo=quiet)
    if proxy is not None:
        proxy.stop()


class WorkerHandle:
    """The run's real Celery worker; crash tests kill it and start it again."""

    def __init__(self):
        self.proc = launcher.start_worker("worker")

    def alive(self) -> bool:
        return self.proc.alive()

    def restart(self) -> None:
        self.proc.stop()
        self.proc = launcher.start_worker("worker")

    def log_tail(self, lines: int = 40) -> str:
        return self.proc.log_tail(lines)


@pytest.fixture(scope="session")
def _worker_handle(django_db_setup, django_db_blocker, clean_redis):
    handle = WorkerHandle()
    yield handle
    handle.proc.stop()


@pytest.fixture
def celery_worker(_worker_handle):
    """One real Celery worker process on all three queues (restarted if a test killed it)."""
    if not _worker_handle.alive():
        _worker_handle.restart()
    return _worker_handle


_HOUSE_FUNDED: set[str] = set()


@pytest.fixture
def wallets(live_db, regtest):
    """Both master wallets recorded, their pools filled to POOL_MIN, and (once per run)
    the house's funding, the coinbase it mined, in the books."""
    for chain in Chain.values:
        master_wallet_ensure(chain=chain)
        fill_pool(chain)
        if chain not in _HOUSE_FUNDED:
            deposits_scan(chain=chain)
            _HOUSE_FUNDED.add(chain)


# --- people ----------------------------------------------------------------------------


@pytest.fixture
def buyer(live_db):
    return make_person()


@pytest.fixture
def staff(live_db):
    return make_person(staff=True)


@pytest.fixture
def stranger(live_db):
    return make_person()


@pytest.fixture
def vendor(wallets):
    """A vendor paid into fresh accounts of the customer wallet (one per chain)."""
    person = make_person()
    person.receivers = {"BTC": receiver(CHAIN_OF["BTC"]), "XMR": receiver(CHAIN_OF["XMR"])}
    for currency, paid_to in person.receivers.items():
        vendor_payout_address_set(user=person.user, currency=currency, address=paid_to.address)
    return person


# --- the proof record and the API server (fault, security and fuzz suites) ------------

PROOF_DIR = ROOT / "var" / "proof"
SCENARIOS = PROOF_DIR / f"scenarios-{SLOT}.jsonl"
API_PORT = PORT_BASE + 90


def pytest_collection_finish(session):
    """A run that includes proof scenarios starts their record afresh."""
    if any("proof" in getattr(item, "fixturenames", ()) for item in session.items):
        PROOF_DIR.mkdir(parents=True, exist_ok=True)
        SCENARIOS.write_text("")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call":
        item.proof_passed = report.passed
    return report


@pytest.fixture
def proof(request):
    """A test fills this dict (scenario, injected, counts); it is written with the outcome."""
    record: dict = {"test": request.node.nodeid}
    started = time.monotonic()
    yield record
    record["passed"] = getattr(request.node, "proof_passed", False)
    record["seconds"] = round(time.monotonic() - started, 1)
    with Path(SCENARIOS).open("a") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def api_server(_worker_handle):
    """gunicorn serving the app on loopback, as the Procfile runs it."""
    server = launcher.start_web("proof-web", port=API_PORT, workers=2, timeout=120)
    base = f"http://127.0.0.1:{API_PORT}"
    yield base
    server.stop()


@pytest.fixture
def market(wallets, celery_worker, django_capture_on_commit_callbacks):
    """A fresh rate (the static provider) and the house's liquidity synced from the nodes;
    returns an anonymous API client."""
    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()
    for chain in ("bitcoin", "monero"):
        balances_sync(chain=chain)
    return APIClient()
