"""Named locks held in MariaDB (``GET_LOCK``): no table is locked, and a lock dies with
the connection that holds it, so a killed worker never leaves one behind.

- ``wallet_writer``: one writer per master wallet. Spends, account creation and node
  labelling go through it; monero-wallet-rpc serves one request at a time, and two
  unrelayed transactions built from one bcoin account could pick the same coins.
- ``scan_lock``: one deposit scan per chain at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import DatabaseError, connection

from wallets.clients.base import RetryLater


class LockTimeout(RetryLater):
    """Somebody else holds the lock; try again later."""


def _name(name: str) -> str:
    # GET_LOCK names are server-wide: scope them to this database.
    return f"{connection.settings_dict['NAME']}:{name}"[:64]


@contextlib.contextmanager
def named_lock(name: str, *, timeout: float) -> Iterator[None]:
    full = _name(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, %s)", [full, timeout])
        (got,) = cursor.fetchone()
    if got != 1:
        raise LockTimeout(f"lock {name} is held elsewhere (waited {timeout} s)")
    try:
        yield
    finally:
        # If the connection died, the server already released the lock with it.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [full])


def wallet_writer(
    master_wallet_id: int, *, timeout: float = 30
) -> contextlib.AbstractContextManager:
    return named_lock(f"wallet-writer:{master_wallet_id}", timeout=timeout)


def scan_lock(chain: str, *, timeout: float = 60) -> contextlib.AbstractContextManager:
    return named_lock(f"deposit-scan:{chain}", timeout=timeout)
