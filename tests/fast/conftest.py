"""The fast tier: logic and services that need no node, no worker and no regtest stack.

Every test under tests/fast/ is marked ``fast`` (``pytest -m fast``, ``make test-fast``).
A test that needs the database gets pytest-django's ``db`` fixture: one transaction per
test, rolled back at its end. A fast test that asks for a fixture that starts a service
(or commits rows other processes read) fails before it runs, and any process a fast test
starts fails it: what needs those belongs to the integration tier.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# Fixtures of tests/conftest.py (and pytest-django's) that start processes, need the
# regtest stack or commit for real; a fixture depending on one of them brings it into
# ``item.fixturenames`` too.
SERVICE_FIXTURES = frozenset(
    {
        "regtest",
        "wallets",
        "live_db",
        "celery_worker",
        "_worker_handle",
        "vendor",
        "buyer",
        "staff",
        "stranger",
        "market",
        "api_server",
        "clean_redis",
        "transactional_db",
        "live_server",
        "django_db_serialized_rollback",
    }
)


def is_fast(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def service_fixtures(item: pytest.Item) -> set[str]:
    """The fixtures of ``item`` the fast tier refuses, and a commit asked for by marker."""
    refused = set(getattr(item, "fixturenames", ())) & SERVICE_FIXTURES
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        refused.add("django_db(transaction=True)")
    return refused


def pytest_collection_modifyitems(config, items):
    for item in items:
        if is_fast(item):
            item.add_marker(pytest.mark.fast)


def pytest_runtest_setup(item):
    if not is_fast(item):
        return
    refused = service_fixtures(item)
    if refused:
        pytest.fail(
            f"{item.nodeid} is in the fast tier but uses {', '.join(sorted(refused))}: "
            "move it to the integration tier",
            pytrace=False,
        )


class _NoProcesses:
    """An audit hook that refuses to start a process while a fast test runs (a node, a
    worker, the regtest stack: none has a place in the fast tier)."""

    EVENTS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.fork"})

    def __init__(self):
        self.running: str | None = None

    def __call__(self, event, args):
        if self.running is not None and event in self.EVENTS:
            raise RuntimeError(f"{self.running} started a process ({event}): not in the fast tier")


_no_processes = _NoProcesses()
sys.addaudithook(_no_processes)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Set-up (fixtures included), the test and its teardown."""
    if not is_fast(item):
        return (yield)
    _no_processes.running = item.nodeid
    try:
        return (yield)
    finally:
        _no_processes.running = None
