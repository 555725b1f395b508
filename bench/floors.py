"""The floors the benchmarks measure in the same run as their figures: the cheapest thing
the engine's request could cost on this machine through the same MariaDB or Redis, at the
same concurrency, without Django, gunicorn or HTTP. A figure divided by its floor (a
throughput ratio, at most 1) or a floor divided into it (a p99 ratio, at least 1) changes
far less with how loaded the shared machine is than the absolute figure does.

- ``order_floor``: what creating an order needs from the database, each in its own
  transaction on a connection of its own (READ COMMITTED, as the engine's): the oldest
  pooled account of the order's chain claimed with ``SELECT … FOR UPDATE SKIP LOCKED``,
  its conditional update to ``assigned``, and the order's row inserted. Two scratch
  tables (``bench_floor_account``, ``bench_floor_order``) in the bench database, created
  for the run and dropped after it.
- ``redis_read_floor``: one ``GET`` of a cached value (the agreed rate's key) through the
  same Redis, a client (and connection) per thread.

Each floor runs as a closed loop (``connections`` threads back to back: the saturation
figure's floor) and as an open loop (a fixed rate, latency from each operation's scheduled
time: the steady figure's floor). Results have the fields of ``devtools.load`` summaries
(``throughput_rps``, ``p99_ms``, ...), so ``bench.report.load_table`` prints them beside
the HTTP runs. The client is Python (MySQLdb, redis-py) on the same cores as everything
else, so a floor includes a client's own cost, as wrk's does for the HTTP figures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench import env
from devtools.load.report import Recorder, summary

Op = Callable[[int], None]
# One thread's operation: made once per thread (its own connection), called with the
# operation's number.
OpFactory = Callable[[], Op]


def closed_threads(
    make_op: OpFactory, *, connections: int, duration: float, cap: int, label: str, tool: str
) -> dict:
    """``connections`` threads, each running its next operation as soon as the last is done,
    for ``duration`` s or ``cap`` operations in all."""
    rec, lock = Recorder(), threading.Lock()
    counter = iter(range(cap))
    ready = threading.Barrier(connections + 1)
    stop_at: list[float] = []

    def worker() -> None:
        op = make_op()
        ready.wait()
        while True:
            with lock:
                i = next(counter, None)
            if i is None or time.monotonic() >= stop_at[0]:
                return
            started = time.monotonic()
            try:
                op(i)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                with lock:
                    rec.failed(started, time.monotonic(), f"{exc.__class__.__name__}: {exc}")
                continue
            ended = time.monotonic()
            with lock:
                rec.answered(started, ended, ended - started, 200)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    stop_at.append(time.monotonic() + duration)
    ready.wait()
    for t in threads:
        t.join()
    return summary(
        rec,
        label=label,
        mode="closed loop (saturation)",
        tool=tool,
        connections=connections,
        client_cpu_s=round(time.process_time() - cpu0, 2),
    )


def open_threads(
    make_op: OpFactory, *, rate: float, duration: float, max_connections: int, label: str, tool: str
) -> dict:
    """Operation i scheduled at start + i/``rate`` on a pool of up to ``max_connections``
    threads; latency runs from the scheduled time (no coordinated omission)."""
    rec, lock = Recorder(), threading.Lock()
    local = threading.local()
    n = int(round(rate * duration))

    def one(i: int, scheduled: float) -> None:
        try:
            local.op(i)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded
            with lock:
                rec.failed(scheduled, time.monotonic(), f"{exc.__class__.__name__}: {exc}")
            return
        ended = time.monotonic()
        with lock:
            rec.answered(scheduled, ended, ended - scheduled, 200)

    warmed = threading.Barrier(max_connections)

    def warm() -> None:
        local.op = make_op()
        warmed.wait()  # each thread of the pool takes one: every connection is opened

    cpu0 = time.process_time()
    with ThreadPoolExecutor(max_workers=max_connections) as pool:
        # Every thread's connection first, so the first operations do not pay for it.
        for future in [pool.submit(warm) for _ in range(max_connections)]:
            future.result()
        start = time.monotonic()
        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i, scheduled)
    return summary(
        rec,
        label=label,
        mode="open loop (fixed rate)",
        tool=tool,
        rate_rps=rate,
        planned_requests=n,
        max_connections=max_connections,
        client_cpu_s=round(time.process_time() - cpu0, 2),
    )


# --- order creation: the claim and the insert through MariaDB -----------------------------

CHAINS = ("bitcoin", "monero")
ORDER_TOOL = "floor: MySQLdb threads"


def _db_connect():
    import MySQLdb

    conn = MySQLdb.connect(
        host=env.DB_HOST, port=env.DB_PORT, user=env.DB_USER, database=env.DB_NAME
    )
    cursor = conn.cursor()
    cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    conn.autocommit(False)
    return conn


def order_floor_prepare(accounts_per_chain: int) -> None:
    """The scratch tables, with ``accounts_per_chain`` pooled accounts of each chain."""
    conn = _db_connect()
    try:
        cursor = conn.cursor()
        order_floor_drop(conn)
        cursor.execute(
            "CREATE TABLE bench_floor_account ("
            " id BIGINT AUTO_INCREMENT PRIMARY KEY,"
            " chain VARCHAR(16) NOT NULL,"
            " state VARCHAR(16) NOT NULL,"
            " address VARCHAR(128) NOT NULL,"
            " owner_id BIGINT NULL,"
            " assigned_at DATETIME(6) NULL,"
            " KEY chain_state (chain, state, id)"
            ") ENGINE=InnoDB"
        )
        cursor.execute(
            "CREATE TABLE bench_floor_order ("
            " id BIGINT AUTO_INCREMENT PRIMARY KEY,"
            " currency VARCHAR(3) NOT NULL,"
            " amount BIGINT UNSIGNED NOT NULL,"
            " fee_amount BIGINT UNSIGNED NOT NULL,"
            " state VARCHAR(16) NOT NULL,"
            " account_id BIGINT NOT NULL UNIQUE,"
            " created_at DATETIME(6) NOT NULL"
            ") ENGINE=InnoDB"
        )
        for chain in CHAINS:
            cursor.executemany(
                "INSERT INTO bench_floor_account (chain, state, address) VALUES (%s, 'pooled', %s)",
                [(chain, f"floor-{chain}-{i}") for i in range(accounts_per_chain)],
            )
        conn.commit()
    finally:
        conn.close()


def order_floor_drop(conn=None) -> None:
    own = conn is None
    conn = conn or _db_connect()
    try:
        conn.cursor().execute("DROP TABLE IF EXISTS bench_floor_order, bench_floor_account")
        conn.commit()
    finally:
        if own:
            conn.close()


def order_op() -> Op:
    """One order's database work in its own transaction (alternating the chains)."""
    conn = _db_connect()
    cursor = conn.cursor()

    def op(i: int) -> None:
        chain = CHAINS[i % 2]
        cursor.execute(
            "SELECT id FROM bench_floor_account WHERE chain = %s AND state = 'pooled'"
            " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            (chain,),
        )
        row = cursor.fetchone()
        if row is None:
            conn.rollback()
            raise RuntimeError(f"the floor's {chain} pool is empty")
        cursor.execute(
            "UPDATE bench_floor_account SET state = 'assigned', owner_id = %s,"
            " assigned_at = NOW(6) WHERE id = %s AND state = 'pooled'",
            (i, row[0]),
        )
        cursor.execute(
            "INSERT INTO bench_floor_order"
            " (currency, amount, fee_amount, state, account_id, created_at)"
            " VALUES (%s, %s, %s, 'created', %s, NOW(6))",
            ("BTC" if chain == "bitcoin" else "XMR", 5_000_000, 50_000, row[0]),
        )
        conn.commit()

    return op


# --- quotes: a cached read through Redis --------------------------------------------------

REDIS_TOOL = "floor: redis-py threads"


def redis_op(key: str) -> OpFactory:
    """One ``GET`` of ``key`` (which must hold a value) on a client of the thread's own."""

    def make() -> Op:
        import redis

        client = redis.Redis.from_url(env.REDIS_URL, single_connection_client=True)
        client.ping()

        def op(_i: int) -> None:
            if not client.get(key):
                raise RuntimeError(f"{key} is not cached")

        return op

    return make
