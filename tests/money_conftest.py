"""The books checked against the chain after every money test (used by tests/orders,
tests/faults, tests/invoices and tests/webhooks)."""

from __future__ import annotations

import pytest

from tests.books import assert_books_clean, violations

REGTEST_FIXTURES = {"regtest", "wallets", "vendor", "market"}
# What the checker found after the last checked test: the findings that stand (made on
# purpose by a test, or by a test outside these folders) are not blamed on the next one.
_known: dict = {"after": None, "test": None}


@pytest.fixture(autouse=True)
def books_checked(request):
    """After the test, the checker reads the nodes and must find nothing the test added."""
    if not REGTEST_FIXTURES & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("wallets")
    previous = request.session.items.index(request.node) - 1
    ran_unchecked = previous >= 0 and request.session.items[previous].nodeid != _known["test"]
    if _known["after"] is None or ran_unchecked:
        _known["after"] = violations()
    yield
    marker = request.node.get_closest_marker("books_findings")
    _known["after"] = assert_books_clean(
        ignore=_known["after"], tolerate=set(marker.args) if marker else set()
    )
    _known["test"] = request.node.nodeid
