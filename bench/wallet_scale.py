"""Wallet scale benchmark: the account pool, deposit scans, balance sync, concurrent
allocation and the push path, against a fresh regtest stack of its own.

    cd /work/main && .venv/bin/python bench/wallet_scale.py [--accounts 100,1000] [--huge]

Isolated like the tests (bench/env.py): slot 7 (ports 20700+), Redis database 8, regtest
data in var/regtest-bench, MariaDB database ``exchange_bench`` (dropped, re-created and
migrated at start). The regtest stack is started fresh and stopped at the end, also on an
error or Ctrl-C. Figures are printed as tables and written to var/bench/wallet_scale.json.

For each account count N and each chain:
1. pool_refill until N accounts are pooled (timed), then allocate_account for all of them;
2. the customer wallet pays 10 % of them (bitcoin: one transaction; monero: one per 15);
3. one deposits_scan with the payments in the mempool, then one after a block;
4. one balances_sync.
Then 8 concurrent claimers run allocate_account against synthetic pooled rows, and a real
Celery worker plus ``manage.py chain_listener`` show the push path latency.
"""

from __future__ import annotations

import argparse
import collections
import functools
import itertools
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import env  # noqa: E402

env.activate()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402

from bench.report import now_iso, say, table, write_json  # noqa: E402
from devtools.load.report import percentile  # noqa: E402
from devtools.processes import wait_until  # noqa: E402
from devtools.regtest_nodes import home  # noqa: E402
from exchange.redis import get_redis  # noqa: E402
from wallets.clients.base import HttpNode, node_calls, node_calls_by_method  # noqa: E402
from wallets.clients.bitcoin import get_bitcoin_client  # noqa: E402
from wallets.clients.monero import get_customer_monero_client, get_monero_client  # noqa: E402
from wallets.models import AccountState, Chain, Deposit, MasterWallet, WalletAccount  # noqa: E402
from wallets.services import (  # noqa: E402
    allocate_account,
    balances_sync,
    deposits_scan,
    pool_refill,
    pooled_count,
)

CHAINS = (Chain.BITCOIN.value, Chain.MONERO.value)
DEFAULT_COUNTS = (100, 1000)
HUGE_COUNT = 10_000
DEPOSIT_SHARE = 10  # every 10th assigned account receives a deposit
MONERO_MAX_OUTPUTS = 15
MONERO_COINBASE_UNLOCK = 61
DEPOSIT_AMOUNT = {"bitcoin": 100_000, "monero": 1_000_000_000}  # 0.001 BTC / 0.001 XMR
SYNTHETIC_WALLET = "bench-synthetic"
ALLOC_OWNER_KIND = "bench-alloc"
POLL_INTERVAL = 0.05
JSON_PATH = env.VAR_DIR / "wallet_scale.json"

# Issue 17: at 10,000 accounts per chain with 10,000 historic deposits.
PREPARED_TARGETS = {"scan_ms": 3000, "sync_ms": 3000}
TARGETS = {
    "scan_ms": 500,
    "scan_calls": 3,
    "sync_ms": 500,
    "sync_calls": 3,
    "reconcile_ms": 10_000,
    "reconcile_calls": 3,
    "allocations_per_second": 500,
    "push_seconds": 2.0,
}

owner_ids = itertools.count(1)

# Seconds spent inside node calls, by "chain.method" (this process only): tells the node's
# share of an operation's wall time from the database's.
node_seconds: collections.Counter[str] = collections.Counter()
# Bytes the nodes answered, by "chain.method": what a read costs the node to send.
node_bytes: collections.Counter[str] = collections.Counter()


def _timed(http):
    @functools.wraps(http)
    def timed_http(self, verb, url, *, method, **kwargs):
        started = time.perf_counter()
        try:
            response = http(self, verb, url, method=method, **kwargs)
            node_bytes[f"{self.chain}.{method}"] += len(response.content or b"")
            return response
        finally:
            node_seconds[f"{self.chain}.{method}"] += time.perf_counter() - started

    return timed_http


HttpNode.http = _timed(HttpNode.http)


class BenchError(Exception):
    pass


def calls_delta(before: dict[str, int], chain: str | None = None) -> dict[str, int]:
    """Node calls by method made since ``before`` (of one chain, without its prefix)."""
    after = node_calls_by_method()
    out = {}
    for key, n in after.items():
        diff = n - before.get(key, 0)
        prefix, _, method = key.partition(".")
        if diff and (chain is None or prefix == chain):
            out[method if chain else key] = diff
    return out


def seconds_delta(before: dict[str, float], chain: str) -> dict[str, float]:
    out = {}
    for key, seconds in node_seconds.items():
        prefix, _, method = key.partition(".")
        diff = seconds - before.get(key, 0.0)
        if prefix == chain and diff > 0:
            out[method] = ms(diff)
    return out


def methods_text(by_method: dict[str, int], by_method_ms: dict[str, float] | None = None) -> str:
    by_method_ms = by_method_ms or {}
    return (
        ", ".join(
            f"{m}={n}" + (f" ({by_method_ms[m]} ms)" if m in by_method_ms else "")
            for m, n in sorted(by_method.items())
        )
        or "-"
    )


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# --- the stack --------------------------------------------------------------------------


def monero_customer_outputs(needed: int) -> int:
    """Make sure the customer wallet holds ``needed`` unlocked outputs (each payment needs
    its own: the change of a payment stays locked for 10 blocks). Mines coinbases to the
    customer and then enough blocks for them to unlock. Returns the blocks mined."""
    master, customer = get_monero_client(), get_customer_monero_client()
    mined = 0
    for _ in range(5):
        customer.refresh()
        transfers = customer.wallet(
            "incoming_transfers", {"transfer_type": "available", "account_index": 0}
        ).get("transfers", [])
        have = sum(1 for t in transfers if t.get("unlocked") and not t.get("frozen"))
        if have >= needed:
            return mined
        more = needed - have + 4
        master.mine(more, customer.primary_address())
        master.mine(MONERO_COINBASE_UNLOCK, master.primary_address())
        mined += more + MONERO_COINBASE_UNLOCK
    raise BenchError(f"the monero customer wallet still lacks {needed} unlocked outputs")


def monero_payments_needed(deposits: int) -> int:
    return 2 * -(-deposits // MONERO_MAX_OUTPUTS) + 2


def mine_one(chain: str) -> None:
    if chain == Chain.BITCOIN:
        btc = get_bitcoin_client()
        btc.mine(1, btc.new_address())
    else:
        xmr = get_monero_client()
        xmr.mine(1, xmr.primary_address())


def mine_to_customer(chain: str, blocks: int = 1) -> None:
    """Blocks whose coinbase goes to the customer wallet: the master wallet records only
    the deposits (on mainnet it receives no coinbase)."""
    if chain == Chain.BITCOIN:
        btc = get_bitcoin_client()
        btc.mine(blocks, btc.new_address(wallet_id=settings.BITCOIN["customer_wallet_id"]))
    else:
        get_monero_client().mine(blocks, get_customer_monero_client().primary_address())


def monero_pool_mined(most: int = 10) -> None:
    """More blocks until the daemon's pool is empty: a regtest block takes only part of a
    pool of many deposit transactions."""
    xmr = get_monero_client()
    for _ in range(most):
        if not int(xmr.daemon_info().get("tx_pool_size", 0)):
            return
        mine_to_customer(Chain.MONERO)
    raise BenchError(f"the monero pool still holds transactions after {most} more blocks")


def pay(chain: str, outputs: list[tuple[str, int]]) -> list[str]:
    """Pay from the customer wallet: bitcoin in one transaction, monero in ≤15 outputs each."""
    if chain == Chain.BITCOIN:
        txid = get_bitcoin_client().send_many(
            outputs=outputs, wallet_id=settings.BITCOIN["customer_wallet_id"]
        )
        return [txid]
    customer = get_customer_monero_client()
    customer.refresh()
    return [
        customer.send_many(outputs=outputs[i : i + MONERO_MAX_OUTPUTS])
        for i in range(0, len(outputs), MONERO_MAX_OUTPUTS)
    ]


def bitcoin_master_sees(txids: list[str], *, confirmed: bool) -> None:
    """bcoin adds a tx (or a block) to the master wallet asynchronously: wait for it, so
    the scan that follows measures the scan and not the race."""
    btc = get_bitcoin_client()

    def seen() -> bool:
        for txid in txids:
            tx = btc.wallet_tx(txid)
            if tx is None or (confirmed and int(tx.get("height", -1)) < 0):
                return False
        return True

    wait_until(seen, timeout=30, what="the bitcoin master wallet to see the deposits")


# --- 1-4: pool, deposits, scans, balance sync ------------------------------------------------


def pool_fill(chain: str, n: int, batch: int) -> dict:
    start_count = pooled_count(chain=chain)
    started = time.perf_counter()
    step = max(n // 5, 1)
    next_report = step
    have = start_count
    while have < n:
        made = pool_refill(chain=chain, batch_size=batch, target=n)
        if not made:
            raise BenchError(f"pool_refill made no {chain} account ({have}/{n} pooled)")
        have = pooled_count(chain=chain)
        if have >= next_report and have < n:
            elapsed = time.perf_counter() - started
            say(f"    {chain}: {have}/{n} pooled, {elapsed:.1f} s ({have / elapsed:.1f}/s)")
            next_report = (have // step + 1) * step
    seconds = time.perf_counter() - started
    created = n - start_count
    return {
        "created": created,
        "seconds": round(seconds, 2),
        "per_second": round(created / seconds, 1) if seconds else None,
    }


def assign_all(chain: str, n: int) -> tuple[list[WalletAccount], dict]:
    calls_before = node_calls(chain)
    started = time.perf_counter()
    accounts = [
        allocate_account(chain=chain, owner_kind="bench", owner_id=next(owner_ids))
        for _ in range(n)
    ]
    seconds = time.perf_counter() - started
    return accounts, {
        "assigned": len(accounts),
        "seconds": round(seconds, 2),
        "per_second": round(len(accounts) / seconds, 1) if seconds else None,
        "node_calls": node_calls(chain) - calls_before,
    }


def _measured(chain: str, operation) -> tuple[object, dict]:
    """Run ``operation()`` and time it: wall time, time in node calls, calls by method."""
    before, before_seconds = node_calls_by_method(), dict(node_seconds)
    before_bytes = dict(node_bytes)
    started = time.perf_counter()
    result = operation()
    seconds = time.perf_counter() - started
    by_method_ms = seconds_delta(before_seconds, chain)
    answered = sum(
        n - before_bytes.get(key, 0) for key, n in node_bytes.items() if key.startswith(chain)
    )
    return result, {
        "ms": ms(seconds),
        "node_ms": round(sum(by_method_ms.values()), 1),
        "node_bytes": answered,
        "node_calls": result.node_calls,
        "by_method": calls_delta(before, chain),
        "by_method_ms": by_method_ms,
    }


def scan_measured(chain: str) -> dict:
    result, figures = _measured(chain, lambda: deposits_scan(chain=chain))
    return {
        **figures,
        "new": result.new,
        "updated": result.updated,
        "dropped": result.dropped,
        "height": result.height,
    }


def sync_measured(chain: str) -> dict:
    run, figures = _measured(chain, lambda: balances_sync(chain=chain))
    return {
        **figures,
        "accounts_compared": run.accounts,
        "drift_accounts": run.drift_accounts,
        "drift_total": run.drift_total,
    }


def reconcile_measured(chain: str) -> dict:
    """One reconcile of the chain (per account: node, records, ledger)."""
    from operations.reconcile import reconcile_chain

    report, figures = _measured(chain, lambda: reconcile_chain(chain=chain))
    return {**figures, "accounts_compared": report.accounts, "differences": len(report.differences)}


def scale_round(chain: str, n: int, batch: int) -> dict:
    say(f"  {chain}, N={n}: pool")
    pool = pool_fill(chain, n, batch)
    say(
        f"    {chain}: {pool['created']} accounts pooled in {pool['seconds']} s "
        f"({pool['per_second']}/s)"
    )
    accounts, assign = assign_all(chain, n)
    say(
        f"    {chain}: {assign['assigned']} assigned in {assign['seconds']} s "
        f"({assign['per_second']}/s, {assign['node_calls']} node calls)"
    )
    targets = accounts[::DEPOSIT_SHARE]
    outputs = [(a.address, DEPOSIT_AMOUNT[chain] + i) for i, a in enumerate(targets)]
    mined_for_outputs = 0
    if chain == Chain.MONERO:
        mined_for_outputs = monero_customer_outputs(monero_payments_needed(len(outputs)))
    baseline = scan_measured(chain)  # brings the scanned height up to date first
    started = time.perf_counter()
    txids = pay(chain, outputs)
    pay_seconds = time.perf_counter() - started
    say(f"    {chain}: paid {len(outputs)} deposits in {len(txids)} tx ({pay_seconds:.2f} s)")
    if chain == Chain.BITCOIN:
        bitcoin_master_sees(txids, confirmed=False)
    mempool = scan_measured(chain)
    mine_one(chain)
    if chain == Chain.BITCOIN:
        bitcoin_master_sees(txids, confirmed=True)
    confirmed = scan_measured(chain)
    sync = sync_measured(chain)
    reconcile = reconcile_measured(chain)
    total_accounts = WalletAccount.objects.filter(
        chain=chain, purpose="deposit", master_wallet__name=_master_name(chain)
    ).count()
    paid_rows = Deposit.objects.filter(account__in=[a.id for a in targets])
    deposits_in_db = paid_rows.count()
    confirmed_in_db = paid_rows.filter(confirmations__gte=1).count()
    return {
        "chain": chain,
        "accounts": n,
        "accounts_in_wallet": total_accounts,
        "pool": pool,
        "assign": assign,
        "deposits": len(outputs),
        "deposit_txs": len(txids),
        "pay_seconds": round(pay_seconds, 2),
        "monero_blocks_mined_for_outputs": mined_for_outputs,
        "scan_baseline": baseline,
        "scan_mempool": mempool,
        "scan_confirmed": confirmed,
        "balance_sync": sync,
        "reconcile": reconcile,
        "deposit_rows": deposits_in_db,
        "deposit_rows_confirmed": confirmed_in_db,
        "found_all": mempool["new"] == len(outputs) and deposits_in_db == len(outputs),
        # ``updated`` also counts earlier rounds' deposits gaining a confirmation.
        "confirmed_all": confirmed["updated"] >= len(outputs) and confirmed_in_db == len(outputs),
    }


def _master_name(chain: str) -> str:
    return (
        settings.BITCOIN["wallet_id"] if chain == Chain.BITCOIN else settings.MONERO["wallet_file"]
    )


def print_scale(n: int, rows: dict[str, dict]) -> None:
    say()
    say(f"== {n} accounts per chain ==")
    say(
        table(
            [
                "chain",
                "accounts (in wallet)",
                "pool fill s (acc/s)",
                "deposits",
                "scan mempool ms / calls / new",
                "scan confirmed ms / calls / updated",
                "balance sync ms / calls",
                "reconcile ms / calls",
            ],
            [
                [
                    r["chain"],
                    f"{r['accounts']} ({r['accounts_in_wallet']})",
                    f"{r['pool']['seconds']} ({r['pool']['per_second']})",
                    f"{r['deposits']} in {r['deposit_txs']} tx",
                    f"{r['scan_mempool']['ms']} / {r['scan_mempool']['node_calls']}"
                    f" / {r['scan_mempool']['new']}",
                    f"{r['scan_confirmed']['ms']} / {r['scan_confirmed']['node_calls']}"
                    f" / {r['scan_confirmed']['updated']}",
                    f"{r['balance_sync']['ms']} / {r['balance_sync']['node_calls']}",
                    f"{r['reconcile']['ms']} / {r['reconcile']['node_calls']}",
                ]
                for r in rows.values()
            ],
        )
    )
    say(
        "(new: deposit rows the scan created; updated: rows it changed, earlier rounds' "
        "deposits gaining a confirmation included)"
    )
    say()
    say(
        table(
            ["chain", "operation", "wall ms", "in node calls ms", "node calls by method (ms)"],
            [
                [
                    r["chain"],
                    op,
                    r[key]["ms"],
                    r[key]["node_ms"],
                    methods_text(r[key]["by_method"], r[key]["by_method_ms"]),
                ]
                for r in rows.values()
                for op, key in (
                    ("scan (mempool)", "scan_mempool"),
                    ("scan (confirmed)", "scan_confirmed"),
                    ("balance sync", "balance_sync"),
                    ("reconcile", "reconcile"),
                )
            ],
        )
    )


# --- a prepared wallet: N accounts with N deposits in their history ------------------------

# A transaction of a prepared wallet's history pays this many of its accounts (bitcoin; a
# Monero transaction pays at most MONERO_MAX_OUTPUTS).
HISTORY_OUTPUTS = 500
# Monero history transactions sent before each block (a block after each made the history
# of 10,000 deposits take longer than its 667 transactions).
MONERO_TXS_PER_BLOCK = 10


def prepared_dir(n: int) -> Path:
    return env.VAR_DIR / f"prepared-{n}"


def _database_dump(path: Path) -> None:
    with path.open("wb") as out:
        subprocess.run(
            [
                "mariadb-dump",
                "-h",
                env.DB_HOST,
                "-P",
                str(env.DB_PORT),
                "-u",
                env.DB_USER,
                "--single-transaction",
                env.DB_NAME,
            ],
            stdout=out,
            check=True,
        )


def _database_load(path: Path) -> None:
    connections.close_all()
    env.database_recreate()
    with path.open("rb") as dump:
        subprocess.run(
            ["mariadb", "-h", env.DB_HOST, "-P", str(env.DB_PORT), "-u", env.DB_USER, env.DB_NAME],
            stdin=dump,
            check=True,
        )


def _history_pay(chain: str, accounts: list[WalletAccount]) -> int:
    """Pay every account once, a block after each bitcoin transaction and after every
    MONERO_TXS_PER_BLOCK Monero ones (each spends its own unlocked customer output): the
    wallet's history."""
    per_block = (
        HISTORY_OUTPUTS if chain == Chain.BITCOIN else MONERO_MAX_OUTPUTS * MONERO_TXS_PER_BLOCK
    )
    if chain == Chain.MONERO:
        monero_customer_outputs(monero_payments_needed(len(accounts)))
    txs = 0
    for i in range(0, len(accounts), per_block):
        chunk = accounts[i : i + per_block]
        txids = pay(chain, [(a.address, DEPOSIT_AMOUNT[chain]) for a in chunk])
        if chain == Chain.BITCOIN:
            bitcoin_master_sees(txids, confirmed=False)
        mine_to_customer(chain)
        txs += len(txids)
        say(f"    {chain}: {i + len(chunk)}/{len(accounts)} historic deposits ({txs} tx)")
    return txs


def prepare(n: int, batch: int, chains: list[str]) -> dict:
    """A fresh stack and database with ``n`` assigned accounts per chain, each paid once and
    settled, then both saved under var/bench/prepared-N (the stack is up again after)."""
    from wallets.services.deposits import final_confirmations

    env.environment_prepare(say)
    made: dict = {}
    for chain in chains:
        say(f"  {chain}, N={n}: pool")
        pool = pool_fill(chain, n, batch)
        accounts, assign = assign_all(chain, n)
        say(f"    {chain}: {n} accounts pooled in {pool['seconds']} s, assigned")
        scan_measured(chain)
        started = time.perf_counter()
        txs = _history_pay(chain, accounts)
        mine_to_customer(chain, final_confirmations(chain) + 1)
        first = scan_measured(chain)
        for _ in range(60):  # the wallet may still be reading the blocks just mined
            if Deposit.objects.filter(chain=chain, account__purpose="deposit").count() >= n:
                break
            time.sleep(1)
            first = scan_measured(chain)
        else:
            raise BenchError(f"the {chain} scans did not record the {n} historic deposits")
        # Steady state: the last scan reads after its overlap has passed the history (a
        # later scan's read does not reach back to it).
        time.sleep(settings.SCAN_TIME_OVERLAP_SECONDS + 2)
        scan_measured(chain)
        balances_sync(chain=chain)
        made[chain] = {
            "accounts": n,
            "deposits": n,
            "deposit_txs": txs,
            "pool": pool,
            "assign": assign,
            "history_seconds": round(time.perf_counter() - started, 1),
            "first_scan": first,
        }
        say(f"    {chain}: {n} historic deposits in {txs} tx, settled")
    say("  saving the prepared wallets and database")
    env.stack_down(say)
    target = prepared_dir(n)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copytree(home(), target / "regtest", symlinks=True)
    _database_dump(target / "database.sql")
    meta = {"accounts": n, "chains": made, "prepared_at": now_iso()}
    write_json(target / "prepared.json", meta)
    env.regtest_up_quiet(say)
    return meta


def prepared_restore(n: int) -> dict:
    """The stack and database as ``prepare`` left them (a copy: runs never change them)."""
    source = prepared_dir(n)
    say(f"  restoring {source}")
    env.stack_down(say)
    _database_load(source / "database.sql")
    get_redis().flushdb()
    shutil.rmtree(home(), ignore_errors=True)
    shutil.copytree(source / "regtest", home(), symlinks=True)
    env.regtest_up_quiet(say)
    return json.loads((source / "prepared.json").read_text())


def whole_history_read(chain: str) -> dict:
    """The bitcoin read a scan made before its window bounded it (every wallet transaction),
    at the window the next scan would use: timed, not recorded."""
    from wallets.chains import adapter
    from wallets.services.deposits import _scan_window, final_confirmations

    wallet = MasterWallet.objects.get(chain=chain, name=_master_name(chain))
    window = _scan_window(wallet, None)
    calls_before = node_calls(chain)

    def read():
        adapter(chain).deposits_read(wallet, window, final=final_confirmations(chain), since=None)
        return argparse.Namespace(node_calls=node_calls(chain) - calls_before)

    _result, figures = _measured(chain, read)
    return figures


def prepared_round(chain: str, n: int) -> dict:
    """On the prepared wallet: a scan with nothing new, the whole-history read it replaced
    (bitcoin), then 10 % of the accounts paid again, a scan in the mempool and one after a
    block, a balance sync and a reconcile."""
    accounts = list(
        WalletAccount.objects.filter(
            chain=chain, purpose="deposit", master_wallet__name=_master_name(chain)
        ).order_by("id")
    )
    historic = Deposit.objects.filter(chain=chain, account__purpose="deposit").count()
    targets = accounts[::DEPOSIT_SHARE]
    if chain == Chain.MONERO:
        monero_customer_outputs(monero_payments_needed(len(targets)))
    baseline = scan_measured(chain)
    whole = whole_history_read(chain) if chain == Chain.BITCOIN else None
    outputs = [(a.address, DEPOSIT_AMOUNT[chain] + i) for i, a in enumerate(targets)]
    txids = []
    for i in range(0, len(outputs), HISTORY_OUTPUTS):
        txids += pay(chain, outputs[i : i + HISTORY_OUTPUTS])
    if chain == Chain.BITCOIN:
        bitcoin_master_sees(txids, confirmed=False)
    mempool = scan_measured(chain)
    mine_to_customer(chain)
    if chain == Chain.MONERO:
        monero_pool_mined()
    if chain == Chain.BITCOIN:
        bitcoin_master_sees(txids, confirmed=True)
    confirmed = scan_measured(chain)
    sync = sync_measured(chain)
    reconcile = reconcile_measured(chain)
    new_rows = Deposit.objects.filter(txid__in=txids)
    return {
        "chain": chain,
        "accounts": len(accounts),
        "historic_deposits": historic,
        "deposits": len(outputs),
        "deposit_txs": len(txids),
        "scan_baseline": baseline,
        "whole_history_read": whole,
        "scan_mempool": mempool,
        "scan_confirmed": confirmed,
        "balance_sync": sync,
        "reconcile": reconcile,
        "found_all": new_rows.count() == len(outputs),
        "confirmed_all": new_rows.filter(confirmations__gte=1).count() == len(outputs),
    }


def print_prepared(n: int, rows: dict[str, dict]) -> None:
    say()
    say(f"== prepared wallet: {n} accounts per chain, each with a deposit in its history ==")
    ops = (
        ("scan, nothing new", "scan_baseline"),
        ("whole-history read (before)", "whole_history_read"),
        ("scan (mempool)", "scan_mempool"),
        ("scan (confirmed)", "scan_confirmed"),
        ("balance sync", "balance_sync"),
        ("reconcile", "reconcile"),
    )
    say(
        table(
            ["chain", "operation", "wall ms", "node calls", "node KB", "calls by method (ms)"],
            [
                [
                    r["chain"],
                    op,
                    r[key]["ms"],
                    r[key]["node_calls"],
                    round(r[key]["node_bytes"] / 1024, 1),
                    methods_text(r[key]["by_method"], r[key]["by_method_ms"]),
                ]
                for r in rows.values()
                for op, key in ops
                if r.get(key)
            ],
        )
    )
    historic = ", ".join(f"{c} {r['historic_deposits']}" for c, r in rows.items())
    again = ", ".join(f"{c} {r['deposits']} in {r['deposit_txs']} tx" for c, r in rows.items())
    say(f"(historic deposits: {historic}; paid again: {again})")


def prepared_verdicts(n: int, rows: dict[str, dict]) -> list[dict]:
    out = []
    for chain, r in rows.items():
        out.append(
            {
                "check": f"{chain} prepared N={n}: new deposits found, then confirmed",
                "value": f"{r['found_all']} / {r['confirmed_all']}",
                "target": "True / True",
                "ok": r["found_all"] and r["confirmed_all"],
            }
        )
        for key, label, limit_ms, limit_calls in (
            ("scan_baseline", "scan, nothing new", PREPARED_TARGETS["scan_ms"], 3),
            ("scan_mempool", "scan (mempool)", PREPARED_TARGETS["scan_ms"], 3),
            ("scan_confirmed", "scan (confirmed)", PREPARED_TARGETS["scan_ms"], 3),
            ("balance_sync", "balance sync", PREPARED_TARGETS["sync_ms"], 3),
        ):
            out.append(
                {
                    "check": f"{chain} prepared N={n}: {label}",
                    "value": f"{r[key]['ms']} ms, {r[key]['node_calls']} calls",
                    "target": f"<= {limit_ms} ms, <= {limit_calls} calls",
                    "ok": r[key]["ms"] <= limit_ms and r[key]["node_calls"] <= limit_calls,
                }
            )
    return out


# --- concurrent allocation ------------------------------------------------------------------


def _claim_loop(claimer: int, owner_base: int, claims: int, barrier) -> dict:
    connection.ensure_connection()
    calls_before = node_calls()
    latencies: list[float] = []
    claimed: list[tuple[int, int]] = []
    errors: list[str] = []
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for i in range(claims):
        owner_id = owner_base + claimer * 1_000_000 + i
        t0 = time.perf_counter()
        try:
            account = allocate_account(
                chain=Chain.BITCOIN, owner_kind=ALLOC_OWNER_KIND, owner_id=owner_id
            )
        except Exception as exc:
            errors.append(f"{exc.__class__.__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - t0)
        claimed.append((account.id, owner_id))
    return {
        "claimer": claimer,
        "started": started,
        "finished": time.perf_counter(),
        "latencies": latencies,
        "claimed": claimed,
        "errors": errors,
        "node_calls": node_calls() - calls_before,
    }


def _claimer_process(claimer: int, owner_base: int, claims: int, barrier, queue) -> None:
    # The parent closed its connections before forking; drop any reference all the same
    # and open this process's own.
    connections.close_all()
    try:
        result = _claim_loop(claimer, owner_base, claims, barrier)
    except Exception as exc:
        result = {"claimer": claimer, "fatal": f"{exc.__class__.__name__}: {exc}"}
    finally:
        connections.close_all()
    queue.put(result)


def _run_processes(claimers: int, owner_base: int, claims: int) -> list[dict]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(claimers + 1)
    queue = ctx.Queue()
    connections.close_all()
    procs = [
        ctx.Process(target=_claimer_process, args=(k, owner_base, claims, barrier, queue))
        for k in range(claimers)
    ]
    for proc in procs:
        proc.start()
    try:
        barrier.wait(timeout=120)
        results = [queue.get(timeout=600) for _ in procs]
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
    return results


def _run_threads(claimers: int, owner_base: int, claims: int) -> list[dict]:
    barrier = threading.Barrier(claimers + 1)
    results: list[dict] = []
    lock = threading.Lock()

    def run(k: int) -> None:
        try:
            result = _claim_loop(k, owner_base, claims, barrier)
        except Exception as exc:
            result = {"claimer": k, "fatal": f"{exc.__class__.__name__}: {exc}"}
        finally:
            connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(claimers)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=120)
    for thread in threads:
        thread.join()
    return results


def allocation_run(
    mode: str, wallet: MasterWallet, *, claimers: int, pool: int, claims: int, run_no: int
) -> dict:
    env.synthetic_accounts(wallet, count=pool, offset=run_no * 1_000_000)
    pooled_before = pooled_count(chain=Chain.BITCOIN)
    owner_base = run_no * 100_000_000
    main_calls_before = node_calls()
    runner = _run_processes if mode == "processes" else _run_threads
    results = runner(claimers, owner_base, claims)
    fatal = [r["fatal"] for r in results if "fatal" in r]
    if fatal:
        raise BenchError(f"allocation ({mode}): {fatal}")
    claimed = [tuple(pair) for r in results for pair in r["claimed"]]
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    wall = max(r["finished"] for r in results) - min(r["started"] for r in results)
    ids = [a for a, _ in claimed]
    owners_in_db = dict(
        WalletAccount.objects.filter(id__in=ids).values_list("id", "owner_id").iterator()
    )
    mismatched = sum(1 for a, o in claimed if owners_in_db.get(a) != o)
    owners = [o for _, o in claimed]
    rows = WalletAccount.objects.filter(
        owner_kind=ALLOC_OWNER_KIND, owner_id__in=owners, state=AccountState.ASSIGNED
    )
    rows_count = rows.count()
    distinct_accounts = rows.values("id").distinct().count()
    owner_dupes = (
        WalletAccount.objects.filter(owner_kind=ALLOC_OWNER_KIND)
        .values("owner_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    node_calls_run = sum(r["node_calls"] for r in results) + node_calls() - main_calls_before
    return {
        "mode": mode,
        "claimers": claimers,
        "pooled_at_start": pooled_before,
        "claims": len(claimed),
        "errors": len(errors),
        "error_samples": errors[:5],
        "seconds": round(wall, 3),
        "per_second": round(len(claimed) / wall, 1) if wall else None,
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(latencies[-1]) if latencies else None,
        "mean_ms": ms(statistics.fmean(latencies)) if latencies else None,
        "duplicates": (len(ids) - len(set(ids))) + mismatched,
        "db_rows_for_claims": rows_count,
        "db_distinct_accounts": distinct_accounts,
        "db_owner_duplicates": owner_dupes,
        "node_calls": node_calls_run,
    }


def allocation_throughput(*, claimers: int, pool: int, claims: int) -> dict:
    real_pooled = pooled_count(chain=Chain.BITCOIN)
    if real_pooled:
        raise BenchError(f"{real_pooled} real bitcoin accounts are still pooled")
    wallet = env.synthetic_wallet(chain=Chain.BITCOIN, name=SYNTHETIC_WALLET)
    runs = []
    try:
        for run_no, mode in enumerate(("processes", "threads"), start=1):
            say(f"  {claimers} {mode} claiming {claims} each (synthetic pool of {pool} added)")
            run = allocation_run(
                mode, wallet, claimers=claimers, pool=pool, claims=claims, run_no=run_no
            )
            say(
                f"    {run['claims']} claims in {run['seconds']} s: {run['per_second']}/s, "
                f"p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms"
            )
            runs.append(run)
    finally:
        # Scans and syncs visit every master wallet of a chain; this one has no node.
        WalletAccount.objects.filter(master_wallet=wallet).delete()
        wallet.delete()
    return {"runs": runs, "headline": max(runs, key=lambda r: r["per_second"] or 0)["mode"]}


def print_allocation(alloc: dict) -> None:
    say()
    say("== concurrent allocation (allocate_account, bitcoin, synthetic pooled rows) ==")
    say(
        table(
            [
                "claimers",
                "pool at start",
                "claims",
                "claims/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "duplicates",
                "owner dupes (db)",
                "errors",
                "node calls",
            ],
            [
                [
                    f"{r['claimers']} {r['mode']}",
                    r["pooled_at_start"],
                    r["claims"],
                    r["per_second"],
                    r["p50_ms"],
                    r["p99_ms"],
                    r["max_ms"],
                    r["duplicates"],
                    r["db_owner_duplicates"],
                    r["errors"],
                    r["node_calls"],
                ]
                for r in alloc["runs"]
            ],
        )
    )


# --- push path ---------------------------------------------------------------------------------


def _poll(predicate, *, timeout: float = 30.0) -> float | None:
    """Seconds until ``predicate`` holds (polled every 50 ms), None on timeout."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if predicate():
            return time.perf_counter() - started
        time.sleep(POLL_INTERVAL)
    return None


def _queues_idle() -> bool:
    r = get_redis()
    return not any(r.llen(q) for q in settings.CELERY_QUEUES) and not r.keys("scan:queued:*")


def push_round(chain: str, account: WalletAccount, amount: int, mine_address: str) -> dict:
    if chain == Chain.MONERO:
        get_customer_monero_client().refresh()
    txid = pay(chain, [(account.address, amount)])[0]
    seen = _poll(lambda: Deposit.objects.filter(account_id=account.id).exists())
    if chain == Chain.BITCOIN:
        get_bitcoin_client().mine(1, mine_address)
    else:
        get_monero_client().mine(1, mine_address)
    confirmed = _poll(
        lambda: Deposit.objects.filter(account_id=account.id, confirmations__gte=1).exists()
    )
    return {
        "txid": txid,
        "deposit_seconds": None if seen is None else round(seen, 3),
        "confirmation_seconds": None if confirmed is None else round(confirmed, 3),
    }


def push_path(repeats: int) -> dict:
    rounds = repeats + 1  # the first is a warm-up
    fresh: dict[str, list[WalletAccount]] = {}
    for chain in CHAINS:
        while pooled_count(chain=chain) < rounds:
            pool_refill(chain=chain, batch_size=rounds, target=rounds)
        fresh[chain] = [
            allocate_account(chain=chain, owner_kind="bench", owner_id=next(owner_ids))
            for _ in range(rounds)
        ]
    monero_customer_outputs(2 * rounds + 2)
    for chain in CHAINS:
        deposits_scan(chain=chain)
    mine_address = {
        Chain.BITCOIN: get_bitcoin_client().new_address(),
        Chain.MONERO: get_monero_client().primary_address(),
    }
    # Labelling and refill tasks queued by the allocations above would compete with the
    # scans for the Monero wallet: the worker starts on empty queues.
    get_redis().flushdb()
    out: dict = {"repeats": repeats, "chains": {}}
    worker = listener = None
    try:
        started = time.perf_counter()
        worker = env.start_worker()
        listener = env.start_listener()
        say(f"  worker (pid {worker.pid}) and chain listener (pid {listener.pid}) up")
        time.sleep(3)
        wait_until(_queues_idle, timeout=60, what="the start-up scans to finish")
        out["startup_seconds"] = round(time.perf_counter() - started, 1)
        for chain in CHAINS:
            runs = []
            for i, account in enumerate(fresh[chain]):
                run = push_round(chain, account, DEPOSIT_AMOUNT[chain] + 7 + i, mine_address[chain])
                run["warm_up"] = i == 0
                runs.append(run)
                say(
                    f"    {chain} {'warm-up' if i == 0 else f'#{i}'}: deposit row after "
                    f"{run['deposit_seconds']} s, confirmations=1 after "
                    f"{run['confirmation_seconds']} s"
                )
                time.sleep(1)
                wait_until(_queues_idle, timeout=60, what="the scans to finish")
            measured = [r for r in runs if not r["warm_up"]]
            out["chains"][chain] = {
                "runs": runs,
                "deposit": _spread([r["deposit_seconds"] for r in measured]),
                "confirmation": _spread([r["confirmation_seconds"] for r in measured]),
            }
    finally:
        for proc in (listener, worker):
            if proc is not None:
                proc.stop()
    out["logs"] = [str(env.LOG_DIR / "worker.log"), str(env.LOG_DIR / "listener.log")]
    return out


def _spread(values: list[float | None]) -> dict:
    got = [v for v in values if v is not None]
    return {
        "min": min(got) if got else None,
        "median": round(statistics.median(got), 3) if got else None,
        "max": max(got) if got else None,
        "timeouts": len(values) - len(got),
    }


def print_push(push: dict) -> None:
    say()
    say(
        f"== push path (Celery worker + chain_listener, {push['repeats']} runs per chain "
        "after one warm-up; seconds) =="
    )
    rows = []
    for chain, data in push["chains"].items():
        for what, key in (("send -> deposit row", "deposit"), ("mine -> 1 conf", "confirmation")):
            s = data[key]
            rows.append([chain, what, s["min"], s["median"], s["max"], s["timeouts"]])
    say(table(["chain", "measure", "min", "median", "max", "timeouts"], rows))


# --- verdicts --------------------------------------------------------------------------------


def verdicts(results: dict) -> list[dict]:
    out = []

    def check(what: str, value, target: str, ok: bool) -> None:
        out.append({"check": what, "value": value, "target": target, "ok": bool(ok)})

    scale = results["scale"]
    counts = sorted(int(n) for n in scale)
    for chain in CHAINS:
        per_n = {n: scale[str(n)][chain] for n in counts if chain in scale[str(n)]}
        for n, r in per_n.items():
            check(
                f"{chain} N={n}: deposits found in the mempool scan",
                f"{r['scan_mempool']['new']}/{r['deposits']}",
                "all",
                r["found_all"],
            )
            check(
                f"{chain} N={n}: deposits with 1 confirmation after the confirmed scan",
                f"{r['deposit_rows_confirmed']}/{r['deposits']}",
                "all",
                r["confirmed_all"],
            )
            if n >= 1000:
                limits = {
                    "scan_mempool": ("scan_ms", "scan_calls"),
                    "scan_confirmed": ("scan_ms", "scan_calls"),
                    "balance_sync": ("sync_ms", "sync_calls"),
                    "reconcile": ("reconcile_ms", "reconcile_calls"),
                }
                for key, label in (
                    ("scan_mempool", "scan (mempool)"),
                    ("scan_confirmed", "scan (confirmed)"),
                    ("balance_sync", "balance sync"),
                    ("reconcile", "reconcile"),
                ):
                    limit_ms, limit_calls = (TARGETS[k] for k in limits[key])
                    check(
                        f"{chain} N={n}: {label}",
                        f"{r[key]['ms']} ms, {r[key]['node_calls']} calls",
                        f"<= {limit_ms} ms, <= {limit_calls} calls",
                        r[key]["ms"] <= limit_ms and r[key]["node_calls"] <= limit_calls,
                    )
        if len(per_n) > 1:
            for key, label in (
                ("scan_mempool", "scan (mempool)"),
                ("scan_confirmed", "scan (confirmed)"),
                ("balance_sync", "balance sync"),
                ("reconcile", "reconcile"),
            ):
                calls = {n: r[key]["node_calls"] for n, r in per_n.items()}
                check(
                    f"{chain}: {label} node calls across N",
                    ", ".join(f"N={n}: {c}" for n, c in calls.items()),
                    "the same at every N",
                    len(set(calls.values())) == 1,
                )
    alloc = results.get("allocation")
    if alloc:
        for run in alloc["runs"]:
            check(
                f"allocation, {run['claimers']} {run['mode']}: claims/s",
                run["per_second"],
                f">= {TARGETS['allocations_per_second']}",
                (run["per_second"] or 0) >= TARGETS["allocations_per_second"],
            )
            check(
                f"allocation, {run['claimers']} {run['mode']}: duplicates, node calls, errors",
                f"{run['duplicates']} / {run['node_calls']} / {run['errors']}",
                "0 / 0 / 0",
                run["duplicates"] == 0
                and run["db_owner_duplicates"] == 0
                and run["node_calls"] == 0
                and run["errors"] == 0
                and run["db_distinct_accounts"] == run["claims"],
            )
    push = results.get("push")
    if push:
        for chain, data in push["chains"].items():
            for key, label in (
                ("deposit", "send -> deposit row"),
                ("confirmation", "mine -> 1 conf"),
            ):
                s = data[key]
                check(
                    f"push {chain}: {label} (max)",
                    s["max"],
                    f"<= {TARGETS['push_seconds']} s",
                    s["max"] is not None
                    and s["max"] <= TARGETS["push_seconds"]
                    and not s["timeouts"],
                )
    return out


def print_verdicts(checks: list[dict]) -> None:
    say()
    say("== targets ==")
    say(
        table(
            ["check", "value", "target", "result"],
            [[c["check"], c["value"], c["target"], "ok" if c["ok"] else "MISSED"] for c in checks],
        )
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/wallet_scale.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Duration: the default run (100 and 1,000 accounts) takes about 10-15 minutes, "
            "most of it Monero creating accounts (~2.5 per second, and each call blocks the "
            "wallet). --huge adds 10,000 accounts per chain: about an hour more for Monero "
            "alone (plus ~5 minutes for bitcoin)."
        ),
    )
    parser.add_argument(
        "--accounts",
        default=",".join(str(n) for n in DEFAULT_COUNTS),
        help="comma-separated account counts per chain (default: 100,1000)",
    )
    parser.add_argument(
        "--huge", action="store_true", help=f"also measure {HUGE_COUNT:,} accounts (~1 h more)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=50, help="accounts per pool_refill call (default 50)"
    )
    parser.add_argument("--claimers", type=int, default=8, help="concurrent claimers (default 8)")
    parser.add_argument(
        "--alloc-pool",
        type=int,
        default=5000,
        help="synthetic pooled rows added before each allocation run (default 5000)",
    )
    parser.add_argument(
        "--alloc-claims",
        type=int,
        default=600,
        help="claims per claimer in each allocation run (default 600)",
    )
    parser.add_argument(
        "--push-repeats", type=int, default=3, help="measured push-path runs per chain (default 3)"
    )
    parser.add_argument(
        "--prepared",
        type=int,
        metavar="N",
        help="only measure a prepared wallet of N accounts per chain, each with a deposit in"
        " its history: made once (and saved in var/bench/prepared-N), reused by later runs",
    )
    parser.add_argument(
        "--prepare-again", action="store_true", help="with --prepared: make it again"
    )
    parser.add_argument(
        "--chains",
        default=",".join(CHAINS),
        help="with --prepared: the chains to prepare and measure (default: bitcoin,monero)",
    )
    args = parser.parse_args(argv)
    args.chain_list = [c for c in args.chains.split(",") if c]
    if set(args.chain_list) - set(CHAINS):
        parser.error(f"--chains: among {', '.join(CHAINS)}")
    try:
        counts = sorted({int(x) for x in args.accounts.split(",") if x.strip()})
    except ValueError:
        parser.error("--accounts: comma-separated whole numbers")
    if args.huge and HUGE_COUNT not in counts:
        counts.append(HUGE_COUNT)
    if not counts or min(counts) < DEPOSIT_SHARE:
        parser.error(f"--accounts: every count must be at least {DEPOSIT_SHARE}")
    if args.claimers * args.alloc_claims > args.alloc_pool:
        parser.error("--claimers x --alloc-claims must not exceed --alloc-pool")
    args.counts = counts
    return args


def main_prepared(args: argparse.Namespace) -> int:
    n = args.prepared
    results: dict = {
        "started_at": now_iso(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "targets": PREPARED_TARGETS,
    }
    status = 0
    try:
        saved = prepared_dir(n) / "prepared.json"
        reuse = saved.exists() and not args.prepare_again
        if reuse:
            meta = json.loads(saved.read_text())
            missing = set(args.chain_list) - set(meta["chains"])
            if missing:
                raise BenchError(
                    f"{prepared_dir(n)} holds no {', '.join(sorted(missing))}: --prepare-again"
                )
        say(f"-- prepared wallet, N = {n}: {'reused' if reuse else 'made now'} --")
        started = time.perf_counter()
        if reuse:
            results["prepared"] = prepared_restore(n)
        else:
            results["prepared"] = prepare(n, args.batch_size, args.chain_list)
        results["prepare_seconds"] = round(time.perf_counter() - started, 1)
        say(f"  ready in {results['prepare_seconds']} s")
        rows = {chain: prepared_round(chain, n) for chain in args.chain_list}
        results["rounds"] = rows
        print_prepared(n, rows)
        results["checks"] = prepared_verdicts(n, rows)
        print_verdicts(results["checks"])
    except KeyboardInterrupt:
        say("\ninterrupted")
        results["error"] = "interrupted"
        status = 130
    except Exception as exc:
        traceback.print_exc()
        results["error"] = f"{exc.__class__.__name__}: {exc}"
        status = 1
    finally:
        say()
        say("regtest stack: stopping")
        env.stack_down(say)
    results["finished_at"] = now_iso()
    path = env.VAR_DIR / f"wallet_scale_prepared_{n}.json"
    write_json(path, results)
    say(f"figures written to {path}")
    return status


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env.sigterm_interrupts()
    if args.prepared:
        return main_prepared(args)
    results: dict = {
        "started_at": now_iso(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "environment": {
            "slot": env.SLOT,
            "ports_from": env.PORT_BASE,
            "database": env.DB_NAME,
            "redis": env.REDIS_URL,
            "regtest_home": str(home()),
        },
        "targets": TARGETS,
        "scale": {},
    }
    status = 0
    try:
        env.environment_prepare(say)
        for n in args.counts:
            say()
            say(f"-- N = {n} --")
            rows = results["scale"].setdefault(str(n), {})
            for chain in CHAINS:
                rows[chain] = scale_round(chain, n, args.batch_size)
            print_scale(n, rows)
        say()
        say("-- concurrent allocation --")
        results["allocation"] = allocation_throughput(
            claimers=args.claimers, pool=args.alloc_pool, claims=args.alloc_claims
        )
        print_allocation(results["allocation"])
        say()
        say("-- push path --")
        results["push"] = push_path(args.push_repeats)
        print_push(results["push"])
    except KeyboardInterrupt:
        say("\ninterrupted")
        results["error"] = "interrupted"
        status = 130
    except Exception as exc:
        traceback.print_exc()
        results["error"] = f"{exc.__class__.__name__}: {exc}"
        status = 1
    finally:
        say()
        say("regtest stack: stopping")
        env.stack_down(say)
    if results["scale"]:
        if status == 0:
            say()
            say("== summary: node calls and wall time per operation ==")
            say(
                table(
                    ["N", "chain", "scan mempool", "scan confirmed", "balance sync"],
                    [
                        [
                            n,
                            chain,
                            f"{r['scan_mempool']['node_calls']} calls, {r['scan_mempool']['ms']} ms",
                            f"{r['scan_confirmed']['node_calls']} calls, "
                            f"{r['scan_confirmed']['ms']} ms",
                            f"{r['balance_sync']['node_calls']} calls, {r['balance_sync']['ms']} ms",
                        ]
                        for n, rows in results["scale"].items()
                        for chain, r in rows.items()
                    ],
                )
            )
        checks = verdicts(results)
        results["checks"] = checks
        print_verdicts(checks)
    results["finished_at"] = now_iso()
    write_json(JSON_PATH, results)
    say()
    say(f"figures written to {JSON_PATH}")
    return status


if __name__ == "__main__":
    sys.exit(main())
