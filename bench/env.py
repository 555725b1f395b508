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
import re
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
    "MONERO_DAEMON_RESTRICTED_URL": f"http://127.0.0.1:{PORT_BASE + 85}",
    "MONERO_DAEMON_USER": "bench",
    "MONERO_DAEMON_PASSWORD": "bench-monerod-rpc-password",
    "MONERO_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 83}",
    "MONERO_CUSTOMER_WALLET_URL": f"http://127.0.0.1:{PORT_BASE + 84}",
    "MONERO_WALLET_USER": "bench",
    "MONERO_WALLET_PASSWORD": "bench-wallet-rpc-password",
    "REGTEST_HOME": str(REGTEST_HOME),
    "FLOWER_PORT": str(PORT_BASE + 55),
    "FLOWER_BASIC_AUTH": "operator:bench-flower-password",
    "WEB_PORT": str(PORT_BASE + 80),
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "LOG_LEVEL": "WARNING",
    "POOL_MIN": "6",
    "POOL_BATCH_SIZE": "6",
    # One bench buyer stands for many customers: the per-buyer and per-client limits are
    # lifted (their own tests are in tests/security).
    "ORDER_BUYER_MAX_UNPAID": "0",
    "SWAP_CLIENT_MAX_UNPAID": "1000000",
    "SWAP_CLIENT_MAX_SHARE_BPS": "10000",
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


# --- shared by the HTTP benchmarks (order_create.py, quotes.py) ---------------------------

WEB_PORT = int(BENCH_ENV["WEB_PORT"])
WEB_URL = f"http://127.0.0.1:{WEB_PORT}"
# Every port the bench regtest stack listens on (bcoin node and wallet, monerod's RPC and
# restricted RPC, the master and customer monero-wallet-rpc).
NODE_PORTS = {
    "bcoin node": PORT_BASE + 32,
    "bcoin wallet": PORT_BASE + 34,
    "monerod": PORT_BASE + 81,
    "monerod restricted": PORT_BASE + 85,
    "monero-wallet-rpc": PORT_BASE + 83,
    "monero-wallet-rpc customer": PORT_BASE + 84,
}


def environment_prepare(say=print) -> None:
    """Drop, re-create and migrate the bench database, flush Redis database 8 and start a
    fresh regtest stack in var/regtest-bench (Django must be set up)."""
    import shutil

    from django.core.management import call_command
    from django.db import connections

    from devtools.regtest import home, regtest_down, regtest_up
    from exchange.redis import get_redis

    say(f"database {DB_NAME}: drop, create, migrate")
    connections.close_all()
    database_recreate()
    call_command("migrate", verbosity=0)
    get_redis().flushdb()
    say(f"regtest stack: fresh in {home()} (ports {PORT_BASE}+)")
    nodes_resume()
    regtest_down(echo=lambda *_: None)
    shutil.rmtree(home(), ignore_errors=True)
    started = time.perf_counter()
    regtest_up(echo=lambda line: say(f"  {line}"))
    say(f"regtest stack up in {time.perf_counter() - started:.1f} s")


def market_prepare() -> dict:
    """The house funded in the books and on the nodes, and a fresh rate cached in Redis:
    each chain's master wallet and liquidity account, a deposit scan (which books the
    liquidity account's mined coins as house funding), a balance sync, ``rates_refresh()``."""
    from django.db import transaction

    from rates.liquidity import liquidity_available
    from rates.services import rates_refresh
    from wallets.models import Chain
    from wallets.services import balances_sync, deposits_scan
    from wallets.services.pool import house_account_ensure, master_wallet_ensure

    for chain in (Chain.BITCOIN, Chain.MONERO):
        house_account_ensure(wallet=master_wallet_ensure(chain=chain))
        deposits_scan(chain=chain)
        balances_sync(chain=chain)
    with transaction.atomic():
        snapshot = rates_refresh()
    if not snapshot.ok:
        raise RuntimeError(f"the rate refresh failed: {snapshot.error}")
    return {
        "rate": str(snapshot.rate),
        "snapshot_id": snapshot.id,
        "liquidity_available": {c: liquidity_available(currency=c) for c in ("BTC", "XMR")},
    }


def stack_down(say=print) -> None:
    """Stop the bench regtest stack (continuing any frozen node first)."""
    from devtools.regtest import regtest_down

    nodes_resume()
    try:
        regtest_down(echo=lambda line: say(f"  {line}"))
    except Exception as exc:  # noqa: BLE001 - reported, the caller is cleaning up
        say(f"  regtest_down failed: {exc}")


def start_web(*, workers: int = 3, threads: int = 4, timeout: float = 90.0, **env: str) -> Process:
    """gunicorn as the Procfile's ``web`` line starts it, on WEB_PORT, with the bench
    environment; returns once every worker has booted and the port answers HTTP."""
    import http.client

    proc = Process(
        "web",
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "exchange.wsgi",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "30",
            "--access-logfile",
            "-",
        ],
        **env,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"gunicorn died:\n{proc.log_tail()}")
        if len(descendants(proc.pid)) >= workers:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=2)
                conn.request("GET", "/api/orders")  # 401 without a token; no side effects
                conn.getresponse().read()
                conn.close()
                return proc
            except OSError:
                pass
        time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"gunicorn did not answer on port {WEB_PORT}:\n{proc.log_tail()}")


# --- processes: trees and memory ----------------------------------------------------------


def _ppid_and_name(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return int(stat.rsplit(")", 1)[1].split()[1]), name


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _ppid_and_name(int(entry.name))
            if info:
                children.setdefault(info[0], []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> dict:
    """VmRSS summed over ``pid`` and its descendants, with the per-process figures."""
    pids = [pid, *descendants(pid)]
    per = {p: rss_kib(p) for p in pids}
    return {
        "total_kib": sum(per.values()),
        "processes": [
            {"pid": p, "name": (_ppid_and_name(p) or (0, "?"))[1], "rss_kib": kib}
            for p, kib in per.items()
        ],
    }


# --- freezing the nodes -------------------------------------------------------------------


def node_processes() -> list[dict]:
    """The bench regtest stack's processes from their pid files (name, pid, port)."""
    from devtools.regtest import processes, running_pid

    out = []
    for proc in processes():
        pid = running_pid(proc)
        if pid:
            out.append({"name": proc.name, "pid": pid, "port": proc.port})
    return out


def process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


_frozen: list[int] = []


def nodes_freeze(timeout: float = 10.0) -> list[dict]:
    """SIGSTOP every regtest node process group (bcoin, monerod, both monero-wallet-rpc;
    each leads its own group); returns them once the kernel reports them stopped.
    ``nodes_resume`` undoes it, and runs at exit too."""
    import atexit

    procs = node_processes()
    if len(procs) != 4:
        raise RuntimeError(f"expected 4 regtest processes, found {procs}")
    if not _frozen:
        atexit.register(nodes_resume)
    for proc in procs:
        _frozen.append(proc["pid"])
        os.killpg(proc["pid"], signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while any(process_state(p["pid"]) != "T" for p in procs):
        if time.monotonic() > deadline:
            raise RuntimeError("the regtest processes did not stop")
        time.sleep(0.05)
    for proc in procs:
        proc["state"] = process_state(proc["pid"])
    return procs


def nodes_resume() -> None:
    """SIGCONT every process group ``nodes_freeze`` stopped (safe to call twice)."""
    while _frozen:
        pid = _frozen.pop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGCONT)


# --- who talks to the nodes ---------------------------------------------------------------


def tcp_sockets(ports: set[int]) -> list[dict]:
    """``ss -tanp``: every TCP socket with a local or peer port in ``ports``."""
    out = subprocess.run(
        ["ss", "-tanpH"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        state, recv_q, send_q, local, peer = parts[:5]
        lport = int(local.rsplit(":", 1)[1])
        pport = peer.rsplit(":", 1)[1]
        pport = int(pport) if pport.isdigit() else 0
        if lport in ports or pport in ports:
            rows.append(
                {
                    "state": state,
                    "recv_q": int(recv_q),
                    "send_q": int(send_q),
                    "local": local,
                    "peer": peer,
                    "local_port": lport,
                    "peer_port": pport,
                    "owner": parts[5] if len(parts) > 5 else "",
                }
            )
    return rows


def node_traffic(before: list[dict], after: list[dict], *, node_pids: set[int]) -> dict:
    """What reached the frozen nodes between two ``tcp_sockets`` snapshots.

    A stopped process cannot accept or read, so every connection made to it stays in its
    listening socket's accept queue (``Recv-Q`` of the LISTEN row) and every request sent
    on an open connection stays unread in the node side's ``Recv-Q``: both only grow
    while the nodes are frozen. Client sockets to node ports owned by anything other than
    the nodes themselves are listed too.
    """

    def node_side(rows):
        return {
            (r["local"], r["peer"], r["state"] == "LISTEN"): r["recv_q"]
            for r in rows
            if r["local_port"] in set(NODE_PORTS.values())
        }

    def foreign_clients(rows):
        found = {}
        for r in rows:
            if r["peer_port"] in set(NODE_PORTS.values()) and not any(
                f"pid={p}," in r["owner"] for p in node_pids
            ):
                found[(r["local"], r["peer"])] = r
        return found

    b, a = node_side(before), node_side(after)
    accept_queued = sum(q - b.get(k, 0) for k, q in a.items() if k[2] and q > b.get(k, 0))
    new_conns = [k for k in a if not k[2] and k not in b]
    unread = sum(q - b.get(k, 0) for k, q in a.items() if not k[2] and q > b.get(k, 0))
    known = foreign_clients(before)
    clients = [r for k, r in foreign_clients(after).items() if k not in known]
    return {
        "connections_queued_at_listeners": accept_queued,
        "new_node_side_connections": len(new_conns),
        "request_bytes_unread_by_nodes": unread,
        "new_client_sockets_to_node_ports": [
            {k: " ".join(r[k].split()) for k in ("state", "local", "peer", "owner")}
            for r in clients
        ],
    }


# --- CPU accounting -----------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (all their threads), so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def pids_named(name: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _ppid_and_name(int(entry.name))
            if info and info[1] == name:
                out.append(int(entry.name))
    return out


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds per group of processes over a stretch of time, and what the rest of the
    machine (anything not in a group: another user's test run, say) used meanwhile.

    ``groups`` maps a name to a function returning the group's pids (called at start and
    at stop; a process that exits in between loses its share)."""

    def __init__(self, groups: dict):
        self.groups = groups

    def __enter__(self) -> CpuMeter:
        self.pids = {name: list(fn()) for name, fn in self.groups.items()}
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(pids) for name, pids in self.pids.items()}
        self.busy_before = machine_busy_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.monotonic() - self.started
        pids = {name: sorted(set(self.pids[name]) | set(fn())) for name, fn in self.groups.items()}
        self.used = {name: max(0.0, cpu_seconds(p) - self.before[name]) for name, p in pids.items()}
        self.busy = machine_busy_seconds() - self.busy_before

    def result(self, requests: int, *, extra: dict | None = None) -> dict:
        """Cores used per group, CPU ms per request per group, and the rest of the machine."""
        used = dict(self.used)
        used.update(extra or {})
        used["other"] = max(0.0, self.busy - sum(used.values()))
        return {
            "seconds": round(self.seconds, 2),
            "machine_busy_cores": round(self.busy / self.seconds, 2) if self.seconds else None,
            "cores": {k: round(v / self.seconds, 2) for k, v in used.items()},
            "ms_per_request": {
                k: round(v * 1000 / requests, 2) if requests else None for k, v in used.items()
            },
        }


class ConnectionSampler:
    """Every ``interval`` s while active: how many established connections on ``port`` each
    process holds (``ss -tnp``). gunicorn's gthread workers keep a keep-alive connection
    for its whole life, so this shows how a closed-loop client's connections spread over
    the workers."""

    def __init__(self, port: int = WEB_PORT, interval: float = 1.0, max_samples: int = 900):
        import threading

        self.port, self.interval, self.max_samples = port, interval, max_samples
        self.samples: list[dict[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="conn-sampler", daemon=True)

    def _sample(self) -> dict[int, int]:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{self.port} )"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
        counts: dict[int, int] = {}
        for pid in (int(p) for p in re.findall(r"pid=(\d+),", out)):
            counts[pid] = counts.get(pid, 0) + 1
        return counts

    def _run(self) -> None:
        while not self._stop.wait(self.interval) and len(self.samples) < self.max_samples:
            self.samples.append(self._sample())

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def summary(self, worker_pids: list[int]) -> dict:
        """Per worker, the connections it held in the middle sample and at most."""
        if not self.samples:
            return {}
        middle = self.samples[len(self.samples) // 2]
        return {
            str(pid): {
                "middle": middle.get(pid, 0),
                "max": max(s.get(pid, 0) for s in self.samples),
            }
            for pid in worker_pids
        }
