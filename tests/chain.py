"""Driving the regtest chains from tests: pay, mine, scan, and receivers to check payouts."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from django.conf import settings

from devtools.processes import wait_until
from devtools.regtest import regtest_mine, regtest_pay
from exchange.celery import DATABASE_TRANSIENT
from wallets.clients.base import RetryLater
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_customer_monero_client
from wallets.models import Chain
from wallets.services import deposits_scan
from wallets.services.payouts import payouts_sweep

CHAIN_OF = {"BTC": Chain.BITCOIN, "XMR": Chain.MONERO}
_names = itertools.count(int(time.time()) % 10**6 * 100)


@dataclass
class Receiver:
    """A fresh place in the customer's wallet where vendors and buyers get paid: a bcoin
    account, or a Monero subaddress (``account``, ``minor``) of the receivers' account."""

    chain: str
    address: str
    account: str | int
    minor: int = 0

    def received(self) -> int:
        """Base units received in blocks."""
        if self.chain == Chain.BITCOIN:
            balance = get_bitcoin_client().balance(
                account=self.account, wallet_id=settings.BITCOIN["customer_wallet_id"]
            )
            return int(balance["confirmed"])
        customer = get_customer_monero_client()
        customer.refresh()
        balance = customer.wallet(
            "get_balance", {"account_index": self.account, "address_indices": [self.minor]}
        )
        return sum(
            int(sub["balance"])
            for sub in balance.get("per_subaddress") or []
            if int(sub["address_index"]) == self.minor
        )


# The customer wallet's account whose subaddresses are the Monero receivers, by the
# wallet's primary address: nothing pays from it, and a new subaddress costs the wallet a
# small fraction of what a new account does (monero-wallet-rpc derives the lookahead
# subaddresses of every account it adds).
_MONERO_RECEIVERS: dict[str, int] = {}


def _monero_receivers_account() -> int:
    customer = get_customer_monero_client()
    primary = customer.primary_address(0)
    if primary not in _MONERO_RECEIVERS:
        _MONERO_RECEIVERS[primary] = customer.create_account("receivers")[0]
    return _MONERO_RECEIVERS[primary]


def receiver(chain: str) -> Receiver:
    name = f"recv-{next(_names)}"
    if chain == Chain.BITCOIN:
        _, address = get_bitcoin_client().create_account(
            name, wallet_id=settings.BITCOIN["customer_wallet_id"]
        )
        return Receiver(chain, address, name)
    account = _monero_receivers_account()
    made = get_customer_monero_client().wallet(
        "create_address", {"account_index": account, "label": name}
    )
    return Receiver(chain, made["address"], account, int(made["address_index"]))


def pay(chain: str, address: str, amount: int) -> str:
    return regtest_pay(chain=chain, address=address, amount=amount)


def mine(chain: str, blocks: int = 1) -> None:
    regtest_mine(chain=chain, blocks=blocks)


def drive(chain: str, predicate, *, what: str, timeout: float = 90, mine_each: int = 0):
    """Scan (and sweep waiting payouts, and optionally mine) until ``predicate()`` holds."""

    def step():
        if mine_each:
            mine(chain, mine_each)
        try:
            deposits_scan(chain=chain)
        except RetryLater:
            return False  # a node that says "later" (-38 once after a lost connection)
        except DATABASE_TRANSIENT:
            return False  # a deadlock with a worker's step: the next step scans again
        try:
            payouts_sweep()
        except DATABASE_TRANSIENT:
            return False
        return predicate()

    return wait_until(step, timeout=timeout, interval=0.5, what=what)


def kill_node(name: str) -> None:
    """SIGKILL a regtest process (its whole group) and wait until it is gone."""
    import os
    import signal

    from devtools.regtest_nodes import processes, running_pid

    proc = next(p for p in processes() if p.name == name)
    os.killpg(running_pid(proc), signal.SIGKILL)
    wait_until(lambda: running_pid(proc) is None, timeout=15, what=f"{name} to be gone")
