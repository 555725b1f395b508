"""The benchmarks' isolated environment (devtools.slots, slot 7, or ``BENCH_SLOT``), and
what the benchmarks share: preparing it, starting the engine's programs in it, freezing its
nodes, and measuring CPU, memory and the sockets to the nodes.

Ports 20700 and up, Redis database 8, regtest data under ``var/regtest-bench`` and a MariaDB
database of its own, ``exchange_bench``, which ``database_recreate`` drops and re-creates.
Nothing here touches the development stack or a test run on another slot.

``activate()`` must run before Django is imported. ``launcher`` starts the engine's own
programs (gunicorn, a Celery worker, the chain listener) as subprocesses with this
environment, their logs in ``var/bench/logs``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.processes import ROOT, Launcher, Process, process_state, socket_holders
from devtools.slots import node_ports, port_base, slot_env

# BENCH_SLOT runs a second benchmark beside the first (its own ports, Redis database,
# MariaDB database exchange_bench_<slot> and var/bench-<slot>); never a test run's slot.
SLOT = int(os.environ.get("BENCH_SLOT", "7"))
_SUFFIX = "" if SLOT == 7 else f"_{SLOT}"
PORT_BASE = port_base(SLOT)
DB_HOST, DB_PORT, DB_USER = "127.0.0.1", 3306, "root"
DB_NAME = f"exchange_bench{_SUFFIX}"
DATABASE_URL = f"mysql://{DB_USER}@{DB_HOST}:{DB_PORT}/{DB_NAME}"
REGTEST_HOME = ROOT / "var" / f"regtest-bench{_SUFFIX.replace('_', '-')}"
VAR_DIR = ROOT / "var" / f"bench{_SUFFIX.replace('_', '-')}"
LOG_DIR = VAR_DIR / "logs"

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "exchange.settings",
    **slot_env(SLOT, label="bench", database_url=DATABASE_URL, regtest_home=REGTEST_HOME),
    # One bench buyer stands for many customers: the per-buyer and per-client limits are
    # lifted (their own tests are in tests/security).
    "ORDER_BUYER_MAX_UNPAID": "0",
    "SWAP_CLIENT_MAX_UNPAID": "1000000",
    "SWAP_CLIENT_MAX_SHARE_BPS": "10000",
}
REDIS_URL = BENCH_ENV["REDIS_URL"]
WEB_PORT = int(BENCH_ENV["WEB_PORT"])
WEB_URL = f"http://127.0.0.1:{WEB_PORT}"
# Every port the bench regtest stack listens on (bcoin node and wallet, monerod's RPC and
# restricted RPC, the master and customer monero-wallet-rpc).
NODE_PORTS = node_ports(SLOT)

launcher = Launcher(
    env={**BENCH_ENV, "PYTHONUNBUFFERED": "1"},
    log_dir=LOG_DIR,
    worker_names=f"bench-{{name}}-{SLOT}",
)


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


def start_worker(*, concurrency: int = 2) -> Process:
    """A real Celery worker on the engine's three queues (not webhooks), logging at INFO."""
    return launcher.start_worker(
        queues="transactions,scheduled,rates", concurrency=concurrency, LOG_LEVEL="INFO"
    )


def start_listener() -> Process:
    """``manage.py chain_listener``, logging at INFO; returns once it says it is running."""
    return launcher.start_listener(LOG_LEVEL="INFO")


def start_web(*, workers: int = 3, threads: int = 4, **env: str) -> Process:
    """gunicorn as the Procfile's ``web`` line starts it (access log on stdout), on
    WEB_PORT; returns once every worker has booted and the API answers."""
    return launcher.start_web(
        port=WEB_PORT, workers=workers, threads=threads, access_log=True, **env
    )


def environment_prepare(say=print) -> None:
    """Drop, re-create and migrate the bench database, flush Redis database 8 and start a
    fresh regtest stack in var/regtest-bench (Django must be set up)."""
    import shutil

    from django.core.management import call_command
    from django.db import connections

    from devtools.regtest import regtest_down, regtest_up
    from devtools.regtest_nodes import home
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


def regtest_up_quiet(say=print) -> None:
    """Start the bench regtest stack on the data it has (after ``stack_down``)."""
    from devtools.regtest import regtest_up

    nodes_resume()
    started = time.perf_counter()
    regtest_up(echo=lambda line: say(f"  {line}"))
    say(f"regtest stack up in {time.perf_counter() - started:.1f} s")


def market_prepare() -> dict:
    """The house funded in the books and on the nodes, and a fresh rate cached in Redis:
    each chain's master wallet and liquidity account, a deposit scan (which books the
    liquidity account's mined coins as house funding), a balance sync, ``rates_refresh()``."""
    from django.db import transaction

    from rates.services import rates_refresh
    from swaps.liquidity import liquidity_available
    from wallets.models import Chain
    from wallets.services import balances_sync, deposits_scan
    from wallets.services.master_wallets import house_account_ensure, master_wallet_ensure

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


# --- people and synthetic pooled accounts -------------------------------------------------


def make_people() -> dict:
    """A buyer with an API token and a vendor paid into fresh customer-wallet accounts."""
    import uuid

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from exchange.models import ApiTokenScope
    from exchange.services import api_token_create
    from orders.services.vendors import vendor_payout_address_set
    from wallets.clients.bitcoin import get_bitcoin_client
    from wallets.clients.monero import get_customer_monero_client

    users = get_user_model().objects
    buyer = users.create_user(username="bench-buyer", password=uuid.uuid4().hex)
    vendor = users.create_user(username="bench-vendor", password=uuid.uuid4().hex)
    _, btc_address = get_bitcoin_client().create_account(
        "bench-vendor", wallet_id=settings.BITCOIN["customer_wallet_id"]
    )
    _, xmr_address = get_customer_monero_client().create_account("bench-vendor")
    vendor_payout_address_set(user=vendor, currency="BTC", address=btc_address)
    vendor_payout_address_set(user=vendor, currency="XMR", address=xmr_address)
    return {
        "buyer": buyer,
        "vendor": vendor,
        "token": api_token_create(user=buyer, name="bench", scope=ApiTokenScope.WRITE)[1],
        "addresses": {"BTC": btc_address, "XMR": xmr_address},
    }


def synthetic_wallet(*, chain: str, name: str):
    """An inactive master wallet of ``chain``: never refilled, none of its accounts on a node."""
    from wallets.models import MasterWallet

    return MasterWallet.objects.create(
        chain=chain,
        name=name,
        network="regtest",
        endpoint=chain.upper(),
        capacity=100_000_000,
        is_active=False,
    )


def synthetic_accounts(wallet, *, count: int, offset: int) -> None:
    """``count`` pooled accounts of ``wallet`` (indexes from ``offset``), on no node: the
    Monero ones are marked labelled, so the worker's labelling task for them is a no-op."""
    from django.utils import timezone

    from wallets.models import AccountState, Chain, WalletAccount

    now = timezone.now()
    WalletAccount.objects.bulk_create(
        [
            WalletAccount(
                master_wallet=wallet,
                chain=wallet.chain,
                account_index=offset + i,
                node_name=f"synthetic-{offset + i}",
                address=f"bench-synthetic-{wallet.chain}-{offset + i}",
                state=AccountState.POOLED,
                pooled_at=now,
                labelled_at=now if wallet.chain == Chain.MONERO else None,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def synthetic_pool(per_chain: int, *, name: str = "bench-synthetic-orders") -> list:
    """Pooled rows of an inactive master wallet per chain, for orders that make no node call."""
    from wallets.models import Chain

    wallets = []
    for chain in (Chain.BITCOIN, Chain.MONERO):
        wallet = synthetic_wallet(chain=chain, name=name)
        wallets.append(wallet)
        synthetic_accounts(wallet, count=per_chain, offset=1_000_000)
    return wallets


def synthetic_cleanup(wallets: list, buyer) -> dict:
    """Delete the orders on synthetic accounts, their events, the rows and the wallets
    (scans and balance syncs visit every master wallet)."""
    from exchange.models import IdempotencyKey
    from funding.models import FundingEvent
    from orders.models import EscrowOrder
    from wallets.models import OwnerKind, WalletAccount

    accounts = WalletAccount.objects.filter(master_wallet__in=wallets)
    orders = EscrowOrder.objects.filter(account__in=accounts)
    events, _ = FundingEvent.objects.filter(
        owner_kind=OwnerKind.ORDER, owner_id__in=orders.values("id")
    ).delete()
    n_orders, _ = orders.delete()
    n_accounts, _ = accounts.delete()
    for wallet in wallets:
        wallet.delete()
    if buyer is not None:
        IdempotencyKey.objects.filter(scope=f"user:{buyer.pk}").delete()
    return {"orders": n_orders, "events": events, "accounts": n_accounts}


def sigterm_interrupts() -> None:
    """SIGTERM stops a benchmark as Ctrl-C does, so that its clean-up runs."""

    def interrupt(*_args) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


# --- freezing the nodes -------------------------------------------------------------------


def node_processes() -> list[dict]:
    """The bench regtest stack's processes from their pid files (name, pid, port)."""
    from devtools.regtest_nodes import processes, running_pid

    out = []
    for proc in processes():
        pid = running_pid(proc)
        if pid:
            out.append({"name": proc.name, "pid": pid, "port": proc.port})
    return out


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
        counts: dict[int, int] = {}
        for holders in socket_holders(self.port):
            for pid in holders:
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
