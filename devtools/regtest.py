"""The regtest stack the project starts by itself: bcoin, monerod, two monero-wallet-rpc.

``regtest_up`` installs nothing. It starts whatever is not running (pid files under
``REGTEST_HOME``), waits until each answers, creates or opens the master and customer
wallets, and mines until both can spend on both chains. Run twice, it does nothing the
second time; after a crash it replaces stale pid files and finishes half-made wallets.
``regtest_down`` stops only the processes it started. ``regtest_status``,
``regtest_mine``, ``regtest_pay`` and ``regtest_customer_address`` drive the running
stack; ``manage.py regtest`` wraps them all.

The processes themselves (what runs for each chain, pid files, starting and stopping one)
are in ``devtools.regtest_nodes``; the wallets' clients and funding them in
``devtools.regtest_wallets``.
"""

from __future__ import annotations

import contextlib
import logging
import time

from django.conf import settings

from devtools.regtest_nodes import (
    BCOIN_BIN,
    RegtestError,
    home,
    pidfile,
    processes,
    running_pid,
    start,
    terminate,
)
from devtools.regtest_wallets import (
    bitcoin_client,
    customer_monero_client,
    fund_bitcoin,
    fund_monero,
    monero_client,
)
from wallets.clients.base import FundsLocked, NodeError, NodeUnavailable

logger = logging.getLogger(__name__)

XMR_UNLOCK = 10


def _wait(what: str, check, timeout: float = 60.0, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (NodeError, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise RegtestError(f"{what} did not become ready within {timeout:.0f} s ({last})")


def _check_settings() -> None:
    if settings.BITCOIN["network"] != "regtest" or settings.MONERO["network"] != "regtest":
        raise RegtestError(
            "the regtest stack needs BITCOIN_NETWORK=regtest and MONERO_NETWORK=regtest"
        )
    if not settings.BITCOIN["api_key"]:
        raise RegtestError(
            "BITCOIN_API_KEY is empty: set it in the environment or .env (make setup writes one)"
        )
    if not BCOIN_BIN.exists():
        raise RegtestError(f"{BCOIN_BIN} is missing (run `make setup`, which runs npm install)")


# --- public actions ------------------------------------------------------------------


def regtest_up(*, echo=print) -> dict:
    _check_settings()
    started = []
    for proc in processes():
        if running_pid(proc):
            continue
        pidfile(proc).unlink(missing_ok=True)
        pid = start(proc)
        started.append(proc.name)
        echo(f"started {proc.name} (pid {pid}, port {proc.port})")

    btc, xmr, xmr_customer = bitcoin_client(), monero_client(), customer_monero_client()
    _wait("monerod", lambda: xmr.daemon_info(timeout=2).get("status") == "OK")
    # bcoin makes its own primary wallet as its wallet database opens.
    _wait("bcoin wallet", lambda: btc.wallet_info(wallet_id="primary").get("id"))
    _wait("monero-wallet-rpc", lambda: xmr.wallet_version(timeout=2))
    _wait("monero-wallet-rpc (customer)", lambda: xmr_customer.wallet_version(timeout=2))

    btc.ensure_wallet(settings.BITCOIN["wallet_id"], witness=True)
    btc.ensure_wallet(settings.BITCOIN["customer_wallet_id"])
    xmr.ensure_wallet()
    xmr_customer.ensure_wallet()
    # A wallet-rpc whose daemon just came back answers -38 until it reconnects.
    _wait("monero wallets to reach monerod", lambda: [xmr.refresh(), xmr_customer.refresh()])
    mined = {"bitcoin": fund_bitcoin(btc), "monero": fund_monero(xmr, xmr_customer)}
    # Refresh often so the wallet sees pool transactions (and fires --tx-notify) quickly.
    xmr.auto_refresh(period=1)
    xmr_customer.auto_refresh(period=5)
    for chain, blocks in mined.items():
        if blocks:
            echo(f"mined {blocks} {chain} blocks so both wallets can spend")
    return {"started": started, "mined": mined}


def regtest_down(*, echo=print) -> list[str]:
    stopped = []
    xmr_wallets = {
        "monero-wallet-rpc": monero_client,
        "monero-wallet-rpc-customer": customer_monero_client,
    }
    for proc in reversed(processes()):
        pid = running_pid(proc)
        if not pid:
            pidfile(proc).unlink(missing_ok=True)
            continue
        if proc.name in xmr_wallets:
            # stop_wallet saves the wallet file, then the process exits by itself.
            with contextlib.suppress(NodeError):
                xmr_wallets[proc.name]().stop_wallet()
        terminate(pid)
        pidfile(proc).unlink(missing_ok=True)
        stopped.append(proc.name)
        echo(f"stopped {proc.name} (pid {pid})")
    return stopped


def regtest_status() -> dict:
    out: dict = {"home": str(home()), "processes": {}}
    for proc in processes():
        pid = running_pid(proc)
        out["processes"][proc.name] = {"pid": pid, "port": proc.port, "running": bool(pid)}
    for chain, fn in (
        ("bitcoin", lambda: bitcoin_client().height()),
        ("monero", lambda: monero_client().height()),
    ):
        try:
            out[chain] = {"height": fn(), "reachable": True}
        except NodeUnavailable as exc:
            out[chain] = {"reachable": False, "error": str(exc)}
    return out


def regtest_mine(*, chain: str, blocks: int, address: str | None = None) -> int:
    if chain == "bitcoin":
        btc = bitcoin_client()
        btc.mine(blocks, address or btc.new_address())
        return btc.height()
    xmr = monero_client()
    return xmr.mine(blocks, address or xmr.primary_address())


def regtest_pay(*, chain: str, address: str, amount: int) -> str:
    """Pay ``amount`` base units to ``address`` from the customer wallet; returns the txid."""
    if chain == "bitcoin":
        return bitcoin_client().send(
            address=address, amount=amount, wallet_id=settings.BITCOIN["customer_wallet_id"]
        )
    customer = customer_monero_client()
    for _ in range(3):
        customer.refresh()
        try:
            return customer.send(address=address, amount=amount)
        except FundsLocked:
            # Each payment locks the customer's change for 10 blocks: mine past it.
            monero_client().mine(XMR_UNLOCK, monero_client().primary_address())
    customer.refresh()
    return customer.send(address=address, amount=amount)


def regtest_customer_address(*, chain: str, name: str) -> str:
    """An address of a named account in the customer wallet (created on first use):
    demo vendors and buyers are paid there."""
    if chain == "bitcoin":
        btc, wallet_id = bitcoin_client(), settings.BITCOIN["customer_wallet_id"]
        try:
            return btc.get_account(name, wallet_id=wallet_id)[1]
        except NodeError:
            return btc.create_account(name, wallet_id=wallet_id)[1]
    customer = customer_monero_client()
    for account in customer.accounts():
        if account.get("label") == name:
            return account["base_address"]
    return customer.create_account(name)[1]
