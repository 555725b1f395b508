"""The regtest stack the project starts by itself: bcoin, monerod, two monero-wallet-rpc.

``regtest_up`` installs nothing. It starts whatever is not running (pid files under
``REGTEST_HOME``), waits until each answers, creates or opens the master and customer
wallets, and mines until both can spend on both chains. Run twice, it does nothing the
second time; after a crash it replaces stale pid files and finishes half-made wallets.
``regtest_down`` stops only the processes it started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from wallets.clients.base import FundsLocked, NodeError, NodeUnavailable
from wallets.clients.bitcoin import BitcoinClient, get_bitcoin_client
from wallets.clients.monero import MoneroClient, get_customer_monero_client, get_monero_client

logger = logging.getLogger(__name__)

BASE_DIR = Path(settings.BASE_DIR)
BCOIN_BIN = BASE_DIR / "node_modules" / "bcoin" / "bin" / "node"
NOTIFY_SCRIPT = BASE_DIR / "scripts" / "chain_notify.py"

# Mined until each wallet can spend at least this much (whole coins).
MIN_SPENDABLE = {"bitcoin": 20 * 10**8, "monero": 20 * 10**12}
BTC_COINBASE_MATURITY = 100
XMR_BLOCKS_BEFORE_SPEND = 80  # 75 measured (node-facts.md 3.2) plus a margin
XMR_UNLOCK = 10


class RegtestError(Exception):
    pass


@dataclass(frozen=True)
class Proc:
    name: str
    port: int
    argv: list[str]
    cwd: Path
    log: Path


def _port(url: str) -> int:
    port = urlsplit(url).port
    if not port:
        raise RegtestError(f"{url} names no port")
    return port


def home() -> Path:
    return Path(settings.REGTEST_HOME)


def _notify_argv(event: str) -> str:
    # monerod/wallet-rpc split this on spaces and run it without a shell.
    return " ".join(
        [
            sys.executable,
            "-I",
            "-S",
            str(NOTIFY_SCRIPT),
            settings.REDIS_URL,
            settings.CHAIN_NOTIFY_KEY,
            event,
            "%s",
        ]
    )


def processes() -> list[Proc]:
    root = home()
    b, m = settings.BITCOIN, settings.MONERO
    monerod_port = _port(m["daemon_url"])
    daemon_login = _login_value(m["daemon_user"], m["daemon_password"])
    return [
        Proc(
            name="bcoin",
            port=_port(b["node_url"]),
            argv=[
                "node",
                str(BCOIN_BIN),
                "--network=regtest",
                f"--prefix={root / 'bcoin'}",
                f"--wallet-prefix={root / 'bcoin' / 'regtest'}",
                f"--http-port={_port(b['node_url'])}",
                f"--wallet-http-port={_port(b['wallet_url'])}",
                f"--api-key={b['api_key']}",
                "--http-host=127.0.0.1",
                "--wallet-http-host=127.0.0.1",
                "--listen=false",
                "--log-level=warning",
            ],
            cwd=root,
            log=root / "bcoin.log",
        ),
        Proc(
            name="monerod",
            port=monerod_port,
            # The engine's port stays unrestricted: a restricted one hides the pool
            # transactions monerod has not broadcast yet, and a payout the engine cannot
            # see there would look absent. The login guards both ports; whatever is not
            # the engine gets the restricted one. ZMQ RPC, which has no login, is off.
            argv=[
                "monerod",
                "--regtest",
                "--offline",
                "--keep-fakechain",
                "--fixed-difficulty",
                "1",
                f"--data-dir={root / 'monerod'}",
                "--rpc-bind-ip=127.0.0.1",
                f"--rpc-bind-port={monerod_port}",
                *([f"--rpc-login={daemon_login}"] if daemon_login else []),
                "--rpc-restricted-bind-ip=127.0.0.1",
                f"--rpc-restricted-bind-port={_port(m['daemon_restricted_url'])}",
                "--no-zmq",
                "--no-igd",
                "--non-interactive",
                f"--log-file={root / 'monerod' / 'monerod.log'}",
                "--block-notify",
                _notify_argv("monero-block"),
            ],
            cwd=root,
            log=root / "monerod.out",
        ),
        Proc(
            name="monero-wallet-rpc",
            port=_port(m["wallet_url"]),
            argv=_wallet_rpc_argv(
                root / "wallet-master",
                _port(m["wallet_url"]),
                m["wallet_daemon_address"] or f"127.0.0.1:{monerod_port}",
            )
            + ["--tx-notify", _notify_argv("monero-tx")],
            cwd=root / "wallet-master",
            log=root / "wallet-master.out",
        ),
        Proc(
            name="monero-wallet-rpc-customer",
            port=_port(m["customer_wallet_url"]),
            # A customer's wallet talks to a node like anyone else: the restricted port.
            argv=_wallet_rpc_argv(
                root / "wallet-customer",
                _port(m["customer_wallet_url"]),
                f"127.0.0.1:{_port(m['daemon_restricted_url'])}",
            ),
            cwd=root / "wallet-customer",
            log=root / "wallet-customer.out",
        ),
    ]


def _login_value(user: str, password: str) -> str:
    """``user:password`` for a node's login flag, or "" when either is unset."""
    return f"{user}:{password}" if user and password else ""


def _wallet_rpc_argv(wallet_dir: Path, port: int, daemon_address: str) -> list[str]:
    m = settings.MONERO
    # With MONERO_WALLET_USER/PASSWORD set (the set-up writes them), every wallet call
    # needs the digest login; the clients send it. MONERO_DAEMON_USER/PASSWORD are the
    # login of monerod, which the wallet gives it in turn.
    login = _login_value(m["wallet_user"], m["wallet_password"])
    daemon_login = _login_value(m["daemon_user"], m["daemon_password"])
    return [
        "monero-wallet-rpc",
        f"--daemon-address={daemon_address}",
        *([f"--daemon-login={daemon_login}"] if daemon_login else []),
        "--rpc-bind-ip=127.0.0.1",
        f"--rpc-bind-port={port}",
        f"--rpc-login={login}" if login else "--disable-rpc-login",
        f"--wallet-dir={wallet_dir}",
        "--trusted-daemon",
        "--non-interactive",
        f"--log-file={wallet_dir / 'monero-wallet-rpc.log'}",
    ]


# --- pid files -------------------------------------------------------------------


def _pidfile(proc: Proc) -> Path:
    return home() / "pids" / f"{proc.name}.pid"


def _start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (field 22 of /proc/pid/stat), or "" if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def running_pid(proc: Proc) -> int | None:
    """The pid of ``proc`` if our pid file names a live process that is really it.

    The pid file holds the pid and its start time, so a recycled pid is recognised as
    some other program and the file as stale.
    """
    try:
        pid_text, started = _pidfile(proc).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if _start_time(pid) == started and _alive(pid):
        return pid
    return None


def _port_open(port: int) -> bool:
    import socket

    with contextlib.closing(socket.socket()) as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(proc: Proc) -> int:
    # A process that just died may hold its port for a moment while it is torn down.
    deadline = time.monotonic() + 5
    while _port_open(proc.port) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _port_open(proc.port):
        raise RegtestError(
            f"{proc.name}: port {proc.port} is already taken by a process this stack did not "
            "start; stop it or set another port in the environment"
        )
    proc.cwd.mkdir(parents=True, exist_ok=True)
    _pidfile(proc).parent.mkdir(parents=True, exist_ok=True)
    if shutil.which(proc.argv[0]) is None:
        raise RegtestError(f"{proc.argv[0]} is not installed (run `make setup`)")
    log = open(proc.log, "ab")  # noqa: SIM115 - handed to the child process
    child = subprocess.Popen(  # noqa: S603 - fixed argv built above
        proc.argv,
        cwd=proc.cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    _pidfile(proc).write_text(f"{child.pid} {_start_time(child.pid)}")
    return child.pid


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


# --- clients for the stack ----------------------------------------------------------


def _bitcoin() -> BitcoinClient:
    return get_bitcoin_client()


def _monero() -> MoneroClient:
    return get_monero_client()


def _customer_monero() -> MoneroClient:
    return get_customer_monero_client()


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
        _pidfile(proc).unlink(missing_ok=True)
        pid = _start(proc)
        started.append(proc.name)
        echo(f"started {proc.name} (pid {pid}, port {proc.port})")

    btc, xmr, xmr_customer = _bitcoin(), _monero(), _customer_monero()
    _wait("monerod", lambda: xmr.daemon_info(timeout=2).get("status") == "OK")
    _wait("bcoin wallet", lambda: btc.wallet_info().get("id"))
    _wait("monero-wallet-rpc", lambda: xmr.wallet_version(timeout=2))
    _wait("monero-wallet-rpc (customer)", lambda: xmr_customer.wallet_version(timeout=2))

    btc.ensure_wallet(settings.BITCOIN["wallet_id"])
    btc.ensure_wallet(settings.BITCOIN["customer_wallet_id"])
    xmr.ensure_wallet()
    xmr_customer.ensure_wallet()
    # A wallet-rpc whose daemon just came back answers -38 until it reconnects.
    _wait("monero wallets to reach monerod", lambda: [xmr.refresh(), xmr_customer.refresh()])
    mined = {"bitcoin": _fund_bitcoin(btc), "monero": _fund_monero(xmr, xmr_customer)}
    # Refresh often so the wallet sees pool transactions (and fires --tx-notify) quickly.
    xmr.auto_refresh(period=1)
    xmr_customer.auto_refresh(period=5)
    for chain, blocks in mined.items():
        if blocks:
            echo(f"mined {blocks} {chain} blocks so both wallets can spend")
    return {"started": started, "mined": mined}


def _btc_spendable(btc: BitcoinClient, wallet_id: str, tip: int) -> int:
    coins = btc._wallet("GET", "/coin", wallet_id=wallet_id, method="coins")
    total = 0
    for coin in coins:
        height = int(coin.get("height", -1))
        immature = height < 0 or tip - height + 1 < BTC_COINBASE_MATURITY
        if coin.get("coinbase") and immature:
            continue
        total += int(coin["value"])
    return total


def _fund_bitcoin(btc: BitcoinClient) -> int:
    master, customer = settings.BITCOIN["wallet_id"], settings.BITCOIN["customer_wallet_id"]
    mined = 0
    for _ in range(3):
        tip = btc.height()
        lacking = [
            w for w in (master, customer) if _btc_spendable(btc, w, tip) < MIN_SPENDABLE["bitcoin"]
        ]
        if not lacking:
            return mined
        for wallet_id in lacking:
            btc.mine(2, btc.new_address(wallet_id=wallet_id))
            mined += 2
        btc.mine(BTC_COINBASE_MATURITY, btc.new_address(wallet_id=master))
        mined += BTC_COINBASE_MATURITY
    raise RegtestError("bitcoin wallets still cannot spend after mining")


def _fund_monero(xmr: MoneroClient, customer: MoneroClient) -> int:
    mined = 0
    for _ in range(3):
        xmr.refresh()
        customer.refresh()
        lacking = [
            c
            for c in (xmr, customer)
            if int(c.balance(0).get("unlocked_balance", 0)) < MIN_SPENDABLE["monero"]
        ]
        height = xmr.height()
        if not lacking and height >= XMR_BLOCKS_BEFORE_SPEND:
            return mined
        for client in lacking:
            # Many coinbase outputs: each payment in a test locks one for 10 blocks.
            mined += 20
            xmr.mine(20, client.primary_address())
        to_mine = max(XMR_BLOCKS_BEFORE_SPEND - xmr.height(), 61)
        xmr.mine(to_mine, xmr.primary_address())
        mined += to_mine
    raise RegtestError("monero wallets still cannot spend after mining")


def regtest_down(*, echo=print) -> list[str]:
    stopped = []
    xmr_wallets = {"monero-wallet-rpc": _monero, "monero-wallet-rpc-customer": _customer_monero}
    for proc in reversed(processes()):
        pid = running_pid(proc)
        if not pid:
            _pidfile(proc).unlink(missing_ok=True)
            continue
        if proc.name in xmr_wallets:
            # stop_wallet saves the wallet file, then the process exits by itself.
            with contextlib.suppress(NodeError):
                xmr_wallets[proc.name]().stop_wallet()
        _terminate(pid)
        _pidfile(proc).unlink(missing_ok=True)
        stopped.append(proc.name)
        echo(f"stopped {proc.name} (pid {pid})")
    return stopped


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group (bcoin has worker children), SIGKILL after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # Reap it if it is our child; a zombie counts as gone.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def regtest_status() -> dict:
    out: dict = {"home": str(home()), "processes": {}}
    for proc in processes():
        pid = running_pid(proc)
        out["processes"][proc.name] = {"pid": pid, "port": proc.port, "running": bool(pid)}
    for chain, fn in (
        ("bitcoin", lambda: _bitcoin().height()),
        ("monero", lambda: _monero().height()),
    ):
        try:
            out[chain] = {"height": fn(), "reachable": True}
        except NodeUnavailable as exc:
            out[chain] = {"reachable": False, "error": str(exc)}
    return out


def regtest_mine(*, chain: str, blocks: int, address: str | None = None) -> int:
    if chain == "bitcoin":
        btc = _bitcoin()
        btc.mine(blocks, address or btc.new_address())
        return btc.height()
    xmr = _monero()
    return xmr.mine(blocks, address or xmr.primary_address())


def regtest_pay(*, chain: str, address: str, amount: int) -> str:
    """Pay ``amount`` base units to ``address`` from the customer wallet; returns the txid."""
    if chain == "bitcoin":
        return _bitcoin().send(
            address=address, amount=amount, wallet_id=settings.BITCOIN["customer_wallet_id"]
        )
    customer = _customer_monero()
    for _ in range(3):
        customer.refresh()
        try:
            return customer.send(address=address, amount=amount)
        except FundsLocked:
            # Each payment locks the customer's change for 10 blocks: mine past it.
            _monero().mine(XMR_UNLOCK, _monero().primary_address())
    customer.refresh()
    return customer.send(address=address, amount=amount)


def regtest_customer_address(*, chain: str, name: str) -> str:
    """An address of a named account in the customer wallet (created on first use):
    demo vendors and buyers are paid there."""
    if chain == "bitcoin":
        btc, wallet_id = _bitcoin(), settings.BITCOIN["customer_wallet_id"]
        try:
            return btc.get_account(name, wallet_id=wallet_id)[1]
        except NodeError:
            return btc.create_account(name, wallet_id=wallet_id)[1]
    customer = _customer_monero()
    for account in customer.accounts():
        if account.get("label") == name:
            return account["base_address"]
    return customer.create_account(name)[1]
