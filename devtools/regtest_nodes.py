"""The regtest stack's processes: bcoin, monerod, the master and customer monero-wallet-rpc.

``processes`` says what runs for each chain (program, flags, ports, directories, logs,
logins) under ``home()`` (``REGTEST_HOME``). ``start`` launches one in its own session
and writes its pid file, which holds the pid and its start time, so ``running_pid``
recognises a recycled pid as some other program; ``terminate`` stops one's process
group. ``RegtestError`` is what every part of the stack raises when it cannot go on.
"""

from __future__ import annotations

import contextlib
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

BASE_DIR = Path(settings.BASE_DIR)
BCOIN_BIN = BASE_DIR / "node_modules" / "bcoin" / "bin" / "node"
NOTIFY_SCRIPT = BASE_DIR / "scripts" / "chain_notify.py"


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


# --- pid files, starting and stopping ---------------------------------------------


def pidfile(proc: Proc) -> Path:
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
        pid_text, started = pidfile(proc).read_text().split()
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


def start(proc: Proc) -> int:
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
    pidfile(proc).parent.mkdir(parents=True, exist_ok=True)
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
    pidfile(proc).write_text(f"{child.pid} {_start_time(child.pid)}")
    return child.pid


def terminate(pid: int, timeout: float = 15.0) -> None:
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
