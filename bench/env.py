"""The benchmarks' isolated environment, built like tests/testenv.py on slot 7.

Ports 20700 and up, Redis database 8, regtest data under ``var/regtest-bench`` and a MariaDB
database of its own, ``exchange_bench``, which ``database_recreate`` drops and re-creates.
Nothing here touches the development stack or a test run on another slot.

``activate()`` must run before Django is imported. ``Process`` starts the engine's own
programs (a Celery worker, the chain listener) as subprocesses with this environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOT = 7
PORT_BASE = 20000 + SLOT * 100
DB_HOST, DB_PORT, DB_USER = "127.0.0.1", 3306, "root"
DB_NAME = "exchange_bench"
DATABASE_URL = f"mysql://{DB_USER}@{DB_HOST}:{DB_PORT}/{DB_NAME}"
REDIS_URL = f"redis://127.0.0.1:6379/{1 + SLOT}"
REGTEST_HOME = ROOT / "var" / "regtest-bench"
VAR_DIR = ROOT / "var" / "bench"
LOG_DIR = VAR_DIR / "logs"
PYTHON = sys.executable

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "exchange.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdef",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "CELERY_BROKER_URL": REDIS_URL,
    "BITCOIN_NETWORK": "regtest",
    "BITCOIN_API_KEY": "bench-regtest-api-key",
    "BITCOIN_NODE_URL": f"http://127.0.0.1:{PORT_BASE + 32}",
    "BITCOIN_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 34}",
    "MONERO_NETWORK": "regtest",
    "MONERO_DAEMON_URL": f"http://127.0.0.1:{PORT_BASE + 81}",
    "MONERO_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 83}",
    "MONERO_CUSTOMER_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 84}",
    "REGTEST_HOME": str(REGTEST_HOME),
    "FLOWER_PORT": str(PORT_BASE + 55),
    "FLOWER_BASIC_AUTH": "operator:bench-flower-password",
    "WEB_PORT": str(PORT_BASE + 80),
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "LOG_LEVEL": "WARNING",
    "POOL_MIN": "6",
    "POOL_BATCH_SIZE": "6",
}


def activate() -> None:
    """Put the bench environment in place (before Django is imported)."""
    os.environ.update(BENCH_ENV)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def database_recreate() -> None:
    """Drop and re-create the bench database (empty; migrate it afterwards)."""
    import MySQLdb

    conn = MySQLdb.connect(host=DB_HOST, port=DB_PORT, user=DB_USER)
    try:
        cursor = conn.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{DB_NAME}`")
        cursor.execute(
            f"CREATE DATABASE `{DB_NAME}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    finally:
        conn.close()


def process_env(**extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(BENCH_ENV)
    env["PATH"] = f"{Path(PYTHON).parent}:{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Process:
    """One engine program in its own process group, its output in ``var/bench/logs``."""

    def __init__(self, name: str, argv: list[str], **env: str):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=process_env(**env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(10)
        # What is left of the group (Celery's pool processes) goes too.
        self._signal(signal.SIGKILL)
        self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def worker_name() -> str:
    return f"bench-worker-{SLOT}@{os.uname().nodename}"


def start_worker(*, concurrency: int = 2, timeout: float = 60.0) -> Process:
    """A real Celery worker on all three queues; returns once it answers a ping."""
    from exchange.celery import app

    proc = Process(
        "worker",
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "exchange",
            "worker",
            "-Q",
            "transactions,scheduled,rates",
            "-c",
            str(concurrency),
            "-n",
            f"bench-worker-{SLOT}@%h",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        LOG_LEVEL="INFO",
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"the worker died:\n{proc.log_tail()}")
        if app.control.ping(destination=[worker_name()], timeout=0.5):
            return proc
    proc.stop()
    raise RuntimeError(f"the worker did not answer a ping:\n{proc.log_tail()}")


def start_listener(*, timeout: float = 30.0) -> Process:
    """``manage.py chain_listener``; returns once it says it is running."""
    proc = Process("listener", [PYTHON, "manage.py", "chain_listener"], LOG_LEVEL="INFO")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"the chain listener died:\n{proc.log_tail()}")
        if "chain listener running" in proc.log_text():
            return proc
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"the chain listener did not start:\n{proc.log_tail()}")
