"""Order creation benchmark: POST /api/orders through gunicorn with both nodes frozen.

    cd /work/main && .venv/bin/python bench/order_create.py [--connections 16,48] [--orders 10000]

Isolated like bench/wallet_scale.py (bench/env.py): slot 7 (ports 20700+), Redis database
8, regtest data in var/regtest-bench, MariaDB database ``exchange_bench`` (dropped,
re-created and migrated at start). It shares all of that with the other benchmarks
(wallet_scale.py, quotes.py, proof_load.py): run one benchmark at a time. Everything it
starts (the regtest stack, gunicorn, a Celery worker) is stopped at the end, also on an
error or Ctrl-C, and frozen nodes are continued.

1. Baseline on the live nodes: one Monero ``create_account`` and one bcoin account
   creation, each timed sequentially N times: the orders/s ceiling of a design that
   creates the node account inside the request.
2. A buyer (write-scope API token) and a vendor (payout addresses: regtest
   addresses from the customer wallets); pooled deposit accounts for every order of the
   run: synthetic rows of a separate, inactive master wallet per chain (allocation makes
   no node call; the Monero rows are marked labelled, as they do not exist on the node, so
   the worker's labelling task for them is a no-op too). Deleted again at the end.
3. gunicorn as in the Procfile (exchange/gunicorn_conf.py, 3 workers x 4 threads, each
   worker on a SO_REUSEPORT socket of its own; DEBUG off) and one Celery worker,
   then SIGSTOP on bcoin, monerod and both monero-wallet-rpc: any node call from now on
   would hang until its timeout (a probe shows it). API throttles are raised for the run
   (THROTTLE_USER/THROTTLE_ANON) so the limiter does not answer 429 to the one buyer.
4. Warm-up, then: saturation (wrk, N keep-alive connections), a steady 100 requests/s
   (open loop), and a top-up until 10,000 orders have been created since the warm-up;
   RSS of gunicorn (master + workers) and of the Celery worker (all its processes)
   before and after. Orders alternate BTC and XMR, each with its own Idempotency-Key.
5. The floors (bench/floors.py), each right after the run it belongs to: after each
   saturation run, the database work of an order (the SKIP LOCKED claim of a pooled
   account, its update, the order's insert; one transaction) from as many threads as the
   run had connections, for as long and at most as many; after the steady run, the same
   at the same rate. Every run's throughput and p99 is printed beside its floor's and as
   a ratio to it.
6. Node calls during the run: this process's call counter, and the kernel's view of the
   frozen nodes' sockets (a stopped process cannot accept or read: any connection or
   request sent to it stays queued, so an unchanged queue means none was sent).

Figures are printed as tables and written to var/bench/order_create.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import time
import traceback
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import env  # noqa: E402

env.activate()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

from bench import floors  # noqa: E402
from bench.report import (  # noqa: E402
    Checks,
    cpu_table,
    floor_table,
    load_table,
    loadavg,
    now_iso,
    say,
    table,
    to_floor,
    write_json,
)
from devtools.load.client import Factory, Req  # noqa: E402
from devtools.load.loops import closed_loop, open_loop, saturate  # noqa: E402
from devtools.load.report import percentile  # noqa: E402
from devtools.processes import Process, descendants, pids_named, process_state, tree_rss  # noqa: E402
from devtools.regtest_nodes import home  # noqa: E402
from exchange.redis import get_redis  # noqa: E402
from orders.models import EscrowOrder  # noqa: E402
from wallets.clients.base import node_calls, node_calls_by_method  # noqa: E402
from wallets.clients.bitcoin import get_bitcoin_client  # noqa: E402
from wallets.clients.monero import get_monero_client  # noqa: E402
from wallets.models import Chain, MasterWallet  # noqa: E402
from wallets.services import pooled_count  # noqa: E402

JSON_PATH = env.VAR_DIR / "order_create.json"
AMOUNT = {"BTC": "5000000", "XMR": "500000000000"}  # 0.05 BTC, 0.5 XMR
WARMUP_ORDERS = 600
TOPUP_CONNECTIONS = 12
# Raised for the run: the default 6000/min per user would answer 429 to the single buyer.
THROTTLES = {"THROTTLE_USER": "10000000/min", "THROTTLE_ANON": "10000000/min"}
PROBE_TIMEOUT_S = 1.0

TARGETS = {
    "saturation_rps": 300,
    "saturation_floor_ratio": 0.15,
    "steady_p99_ms": 30,
    "errors": 0,
    "node_calls": 0,
    "rss_growth_pct": 20,
    "baseline_monero_ceiling_rps": 2.5,
}


class BenchError(Exception):
    pass


# --- baseline: creating the node account on the request -----------------------------------


def _spread(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    mean = statistics.fmean(ordered)
    return {
        "n": len(ordered),
        "mean_ms": round(mean * 1000, 1),
        "p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "p95_ms": round(percentile(ordered, 95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "ceiling_orders_per_s": round(1 / mean, 2),
    }


def node_baseline(n: int) -> dict:
    """``create_account`` timed ``n`` times in a row on each live node."""
    xmr, btc = get_monero_client(), get_bitcoin_client()
    run = uuid.uuid4().hex[:8]
    out = {}
    for chain, create in (
        ("monero", lambda i: xmr.create_account(f"bench-baseline-{run}-{i}")),
        ("bitcoin", lambda i: btc.create_account(f"bench-baseline-{run}-{i}")),
    ):
        create(-1)  # warm the client's connection
        times = []
        for i in range(n):
            started = time.perf_counter()
            create(i)
            times.append(time.perf_counter() - started)
        out[chain] = _spread(times)
    started = time.perf_counter()
    xmr.store()  # what a crash-safe per-request design would add on Monero
    out["monero_store_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def print_baseline(base: dict) -> None:
    say()
    say(
        f"== baseline: node account created on the request (live nodes, {base['monero']['n']} "
        "sequential calls each) =="
    )
    say(
        table(
            ["call", "mean ms", "p50 ms", "p95 ms", "max ms", "ceiling orders/s"],
            [
                [
                    "monero create_account",
                    base["monero"]["mean_ms"],
                    base["monero"]["p50_ms"],
                    base["monero"]["p95_ms"],
                    base["monero"]["max_ms"],
                    base["monero"]["ceiling_orders_per_s"],
                ],
                [
                    "bcoin create account",
                    base["bitcoin"]["mean_ms"],
                    base["bitcoin"]["p50_ms"],
                    base["bitcoin"]["p95_ms"],
                    base["bitcoin"]["max_ms"],
                    base["bitcoin"]["ceiling_orders_per_s"],
                ],
            ],
        )
    )
    say(
        "(ceiling = 1 / mean: monero-wallet-rpc runs one call at a time, so more web workers "
        f"do not raise it; a crash-safe design would also store() the wallet: "
        f"{base['monero_store_ms']} ms once)"
    )


# --- the pool -----------------------------------------------------------------------------


def ensure_pool(needed_orders: int, what: str) -> None:
    """Each chain gets about half the orders; a pool below POOL_MIN would ask for a refill
    (node calls in the worker), so keep a margin above it."""
    need = needed_orders // 2 + settings.POOL_MIN + 50
    for chain in (Chain.BITCOIN, Chain.MONERO):
        have = pooled_count(chain=chain)
        if have < need:
            raise BenchError(f"{what}: {have} pooled {chain} accounts, {need} needed")


# --- requests -----------------------------------------------------------------------------


def order_templates(token: str) -> list[Req]:
    headers = (
        ("Authorization", f"Token {token}"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    )
    return [
        Req(
            "POST",
            "/api/orders",
            headers,
            json.dumps(
                {"currency": currency, "amount": AMOUNT[currency], "vendor": "bench-vendor"}
            ).encode(),
        )
        for currency in ("BTC", "XMR")
    ]


def with_keys(templates: list[Req]) -> Factory:
    """Alternate the templates; a unique Idempotency-Key on every request."""
    run = uuid.uuid4().hex[:12]

    def factory(i: int) -> Req:
        t = templates[i % len(templates)]
        return Req(t.method, t.path, (*t.headers, ("Idempotency-Key", f"{run}-{i}")), t.body)

    return factory


def check_one_order(token: str) -> dict:
    """One order through the API before the load, to see the answer's shape."""
    conn = http.client.HTTPConnection("127.0.0.1", env.WEB_PORT, timeout=10)
    t = order_templates(token)[0]
    conn.request(t.method, t.path, t.body, dict(t.headers) | {"Idempotency-Key": uuid.uuid4().hex})
    response = conn.getresponse()
    body = json.loads(response.read() or b"null")
    conn.close()
    if response.status != 201:
        raise BenchError(f"POST /api/orders answered {response.status}: {body}")
    return body


# --- frozen nodes -------------------------------------------------------------------------


def probe_frozen() -> list[dict]:
    """An HTTP request to each frozen node port: it must get no answer (a node call would
    hang the same way until its read timeout, NODE_READ_TIMEOUT)."""
    out = []
    for name in ("bcoin node", "bcoin wallet", "monerod", "monero-wallet-rpc"):
        port = env.NODE_PORTS[name]
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S) as s:
                s.settimeout(PROBE_TIMEOUT_S)
                s.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                data = s.recv(1)
            outcome = f"answered ({data!r})" if data else "closed"
        except TimeoutError:
            outcome = f"no answer within {PROBE_TIMEOUT_S:g} s"
        except OSError as exc:
            outcome = f"{exc.__class__.__name__}: {exc}"
        out.append(
            {
                "node": name,
                "port": port,
                "outcome": outcome,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    return out


def queues_idle() -> bool:
    r = get_redis()
    return not any(r.llen(q) for q in settings.CELERY_QUEUES)


def drain_queues(timeout: float = 120.0) -> float:
    started = time.monotonic()
    while not queues_idle():
        if time.monotonic() - started > timeout:
            raise BenchError("the Celery queues did not drain")
        time.sleep(0.2)
    time.sleep(0.5)  # the last task finishing
    return round(time.monotonic() - started, 1)


def cpu_groups(web: Process, worker: Process) -> dict:
    return {
        "web": lambda: [web.pid, *descendants(web.pid)],
        "worker": lambda: [worker.pid, *descendants(worker.pid)],
        "mariadb": lambda: pids_named("mariadbd"),
        "redis": lambda: pids_named("redis-server"),
        "bench": lambda: [os.getpid()],
    }


def metered(groups: dict, run_fn) -> dict:
    """Run one load run; add the CPU it cost per process group (``cpu``) and how its
    connections spread over the gunicorn workers (``connections_per_worker``)."""
    workers = groups["web"]()[1:]
    with env.CpuMeter(groups) as meter, env.ConnectionSampler() as sampler:
        run = run_fn()
    extra = {"wrk": run["client_cpu_s"]} if run["tool"] == "wrk" else None
    run["cpu"] = meter.result(run["answered"], extra=extra)
    run["connections_per_worker"] = sampler.summary(workers)
    run["loadavg_after"] = loadavg()
    return run


def rss(web: Process, worker: Process) -> dict:
    return {"web": tree_rss(web.pid), "worker": tree_rss(worker.pid)}


def refill_requested() -> list[str]:
    return sorted(k.decode() for k in get_redis().keys("pool:refill-requested:*"))


def access_log_statuses(web: Process, offset: int) -> dict:
    """Status codes of POST /api/orders in gunicorn's access log from ``offset``."""
    counts: dict[str, int] = {}
    with open(web.log_path, "rb") as fh:
        fh.seek(offset)
        for raw in fh:
            line = raw.decode(errors="replace")
            if '"POST /api/orders HTTP/1.1"' in line:
                code = line.split('"POST /api/orders HTTP/1.1"', 1)[1].split()[0]
                counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items()))


# --- the run ------------------------------------------------------------------------------


def run_load(args, people: dict, web: Process, worker: Process, results: dict) -> None:
    url = env.WEB_URL + "/api/orders"
    templates = order_templates(people["token"])
    runs: list[dict] = []
    results["runs"] = runs
    results["floors"] = []

    sample = check_one_order(people["token"])
    results["sample_answer"] = sample
    say(f"  one order: 201, deposit_address {sample['deposit_address']}, state {sample['state']}")

    nodes = env.nodes_freeze()
    results["frozen"] = nodes
    say(
        "  nodes frozen (SIGSTOP): "
        + ", ".join(f"{p['name']} pid {p['pid']} state {p['state']}" for p in nodes)
    )
    probes = probe_frozen()
    results["frozen_probe"] = probes
    say("  probe: " + "; ".join(f"{p['node']} {p['outcome']}" for p in probes))
    node_pids = {p["pid"] for p in nodes}
    for p in nodes:
        node_pids.update(descendants(p["pid"]))
    ports = set(env.NODE_PORTS.values())
    time.sleep(0.5)
    sockets_before = env.tcp_sockets(ports)
    calls_before = node_calls()
    log_offset = web.log_path.stat().st_size
    results["rss_cold"] = rss(web, worker)

    ensure_pool(WARMUP_ORDERS, "warm-up")
    say(f"  warm-up: {WARMUP_ORDERS} orders, {TOPUP_CONNECTIONS} connections")
    groups = cpu_groups(web, worker)
    warm = metered(
        groups,
        lambda: closed_loop(
            url,
            with_keys(templates),
            connections=TOPUP_CONNECTIONS,
            requests=WARMUP_ORDERS,
            duration=120,
            label="warm-up",
        ),
    )
    runs.append(warm)
    results["drain_after_warmup_s"] = drain_queues()
    results["rss_before"] = rss(web, worker)
    orders_before = EscrowOrder.objects.count()

    for conns in args.connections:
        cap = args.saturation_cap
        ensure_pool(cap, f"saturation {conns}")
        say(f"  saturation: wrk, {conns} connections, {args.saturation_seconds:g} s (<= {cap})")
        run = metered(
            groups,
            lambda conns=conns, cap=cap: saturate(
                url,
                templates,
                tool=args.tool,
                connections=conns,
                duration=args.saturation_seconds,
                requests=cap,
                key_header="Idempotency-Key",
                label=f"saturation c={conns}",
            ),
        )
        runs.append(run)
        say(
            f"    {run['throughput_rps']} req/s, p99 {run['p99_ms']} ms, errors {run['errors']}; "
            f"connections per worker {spread_text(run)}"
        )
        drain_queues()
        floor = floors.closed_threads(
            floors.order_op,
            connections=conns,
            duration=args.saturation_seconds,
            cap=cap,
            label=f"floor c={conns}",
            tool=floors.ORDER_TOOL,
        )
        results["floors"].append(floor)
        run["floor"] = to_floor(run, floor)
        say(
            f"    floor: {floor['throughput_rps']} ops/s, p99 {floor['p99_ms']} ms, errors "
            f"{floor['errors']}; ratio {run['floor']['throughput_ratio']}, p99 "
            f"{run['floor']['p99_ratio']}x"
        )
    if args.close_run:
        conns = args.connections[0]
        cap = args.saturation_cap
        ensure_pool(cap, "saturation without keep-alive")
        say(
            f"  diagnostic: wrk, {conns} connections, 'Connection: close' on every request "
            f"(each request accepted anew, so spread over the workers), "
            f"{args.saturation_seconds:g} s"
        )
        closing = [
            Req(t.method, t.path, (*t.headers, ("Connection", "close")), t.body) for t in templates
        ]
        run = metered(
            groups,
            lambda: saturate(
                url,
                closing,
                tool=args.tool,
                connections=conns,
                duration=args.saturation_seconds,
                requests=cap,
                key_header="Idempotency-Key",
                label=f"diagnostic c={conns} no keep-alive",
            ),
        )
        runs.append(run)
        say(
            f"    {run['throughput_rps']} req/s, p99 {run['p99_ms']} ms, errors {run['errors']}; "
            f"connections per worker {spread_text(run)}"
        )
        drain_queues()

    planned = int(args.rate * args.steady_seconds)
    ensure_pool(planned, "steady rate")
    say(f"  steady: {args.rate:g} requests/s for {args.steady_seconds:g} s (open loop)")
    steady = metered(
        groups,
        lambda: open_loop(
            url,
            with_keys(templates),
            rate=args.rate,
            duration=args.steady_seconds,
            label=f"steady {args.rate:g}/s",
        ),
    )
    runs.append(steady)
    say(f"    p50 {steady['p50_ms']} ms, p99 {steady['p99_ms']} ms, errors {steady['errors']}")
    floor = floors.open_threads(
        floors.order_op,
        rate=args.rate,
        duration=args.steady_seconds,
        max_connections=TOPUP_CONNECTIONS,
        label=f"floor {args.rate:g}/s",
        tool=floors.ORDER_TOOL,
    )
    results["floors"].append(floor)
    steady["floor"] = to_floor(steady, floor)
    say(
        f"    floor: p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms, errors "
        f"{floor['errors']}; p99 {steady['floor']['p99_ratio']}x the floor's"
    )

    made = EscrowOrder.objects.count() - orders_before
    remaining = args.orders - made
    if remaining > 0:
        ensure_pool(remaining, "top-up")
        say(f"  top-up: {remaining} more orders to reach {args.orders:,} since the warm-up")
        runs.append(
            metered(
                groups,
                lambda: closed_loop(
                    url,
                    with_keys(templates),
                    connections=TOPUP_CONNECTIONS,
                    requests=remaining,
                    duration=300,
                    label="top-up",
                ),
            )
        )
    results["drain_after_load_s"] = drain_queues()
    results["orders_since_warmup"] = EscrowOrder.objects.count() - orders_before
    results["rss_after"] = rss(web, worker)

    sockets_after = env.tcp_sockets(ports)
    results["node_calls"] = {
        "bench_process": node_calls() - calls_before,
        "sockets": env.node_traffic(sockets_before, sockets_after, node_pids=node_pids),
        "frozen_throughout": all(
            process_state(p["pid"]) == "T" for p in nodes if p["pid"] in node_pids
        ),
    }
    results["pool"] = {
        "pooled_after": {c: pooled_count(chain=c) for c in (Chain.BITCOIN, Chain.MONERO)},
        "refill_requested": refill_requested(),
    }
    results["access_log"] = access_log_statuses(web, log_offset)


def spread_text(run: dict) -> str:
    """Connections each gunicorn worker held in the middle of the run (and at most)."""
    spread = run.get("connections_per_worker") or {}
    return " / ".join(f"{v['middle']} (max {v['max']})" for v in spread.values()) or "-"


def summarize_rss(results: dict) -> dict:
    out = {}
    for part in ("web", "worker"):
        before = results["rss_before"][part]["total_kib"]
        after = results["rss_after"][part]["total_kib"]
        out[part] = {
            "cold_kib": results["rss_cold"][part]["total_kib"],
            "before_kib": before,
            "after_kib": after,
            "growth_pct": round((after - before) / before * 100, 1) if before else None,
            "processes": len(results["rss_after"][part]["processes"]),
        }
    return out


def print_results(results: dict) -> None:
    say()
    say("== POST /api/orders (gunicorn 3 workers x 4 threads, nodes frozen) ==")
    say(load_table(results["runs"] + results.get("floors", [])))
    say(
        "(latency: wrk and the closed loop from send to answer; the open loop from each "
        "request's scheduled time; client cpu s: the load generator's own CPU time; "
        "floor runs: the database work of an order alone, bench/floors.py)"
    )
    say()
    say("Against the floor measured in the same run (ratio = req/s / floor req/s)")
    say(floor_table(results["runs"]))
    say()
    say(cpu_table(results["runs"]))
    say()
    say("Connections per gunicorn worker process, middle of the run (max during the run)")
    say(
        table(
            ["run", "worker 1 / worker 2 / worker 3"],
            [[r["label"], spread_text(r)] for r in results["runs"]],
        )
    )
    rs = results["rss_summary"]
    say()
    say(f"== RSS across {results['orders_since_warmup']:,} orders (VmRSS, MiB) ==")
    say(
        table(
            ["processes", "count", "cold", "after warm-up", "after the orders", "growth %"],
            [
                [
                    label,
                    rs[part]["processes"],
                    round(rs[part]["cold_kib"] / 1024, 1),
                    round(rs[part]["before_kib"] / 1024, 1),
                    round(rs[part]["after_kib"] / 1024, 1),
                    rs[part]["growth_pct"],
                ]
                for part, label in (
                    ("web", "gunicorn master + workers"),
                    ("worker", "celery worker + pool"),
                )
            ],
        )
    )
    nc = results["node_calls"]
    s = nc["sockets"]
    say()
    say("== node calls during the run ==")
    say(
        table(
            ["evidence", "value"],
            [
                [
                    "nodes stopped (state T) from before the warm-up to the end",
                    nc["frozen_throughout"],
                ],
                ["node calls counted by this process", nc["bench_process"]],
                [
                    "connections queued at the frozen nodes' listeners",
                    s["connections_queued_at_listeners"],
                ],
                ["new connections on the nodes' side", s["new_node_side_connections"]],
                [
                    "request bytes left unread by the frozen nodes",
                    s["request_bytes_unread_by_nodes"],
                ],
                [
                    "new client sockets to node ports (not the nodes' own)",
                    len(s["new_client_sockets_to_node_ports"]),
                ],
                ["pool refill requested", ", ".join(results["pool"]["refill_requested"]) or "no"],
                [
                    "gunicorn access log, POST /api/orders",
                    " ".join(f"{k}:{v}" for k, v in results["access_log"].items()),
                ],
            ],
        )
    )
    if s["new_client_sockets_to_node_ports"]:
        for row in s["new_client_sockets_to_node_ports"]:
            say(f"    {row}")


def verdicts(results: dict) -> Checks:
    checks = Checks()
    runs = results.get("runs", [])
    sat = [r for r in runs if r["label"].startswith("saturation")]  # keep-alive runs only
    steady = next((r for r in runs if r["label"].startswith("steady")), None)
    if sat:
        best = max(sat, key=lambda r: r["throughput_rps"] or 0)
        checks.add(
            f"throughput at saturation ({best['label']})",
            f"{best['throughput_rps']} orders/s",
            f">= {TARGETS['saturation_rps']}",
            (best["throughput_rps"] or 0) >= TARGETS["saturation_rps"],
        )
        if best.get("floor"):
            ratio = best["floor"]["throughput_ratio"]
            checks.add(
                f"throughput at saturation ({best['label']}), ratio to its floor",
                f"{ratio} ({best['floor']['throughput_rps']} floor ops/s)",
                f">= {TARGETS['saturation_floor_ratio']}",
                (ratio or 0) >= TARGETS["saturation_floor_ratio"],
            )
    if steady:
        checks.add(
            f"p99 at a steady {steady['rate_rps']:g}/s",
            f"{steady['p99_ms']} ms (p50 {steady['p50_ms']})",
            f"<= {TARGETS['steady_p99_ms']} ms",
            steady["p99_ms"] <= TARGETS["steady_p99_ms"],
        )
    if runs:
        errors = sum(r["errors"] for r in runs)
        complete = steady is not None and "error" not in results
        checks.add(
            "errors (every run, warm-up included)",
            errors if complete else f"{errors} (run incomplete)",
            "0",
            errors == 0 and complete,
        )
    nc = results.get("node_calls")
    if nc:
        s = nc["sockets"]
        evidence = (
            nc["bench_process"]
            + s["connections_queued_at_listeners"]
            + s["new_node_side_connections"]
            + s["request_bytes_unread_by_nodes"]
            + len(s["new_client_sockets_to_node_ports"])
        )
        checks.add(
            "node calls during the run (nodes frozen)",
            evidence,
            "0",
            evidence == 0 and nc["frozen_throughout"],
        )
    rs = results.get("rss_summary")
    if rs:
        for part, label in (("web", "gunicorn"), ("worker", "celery worker")):
            checks.add(
                f"RSS growth, {label}, {results['orders_since_warmup']:,} orders",
                f"{rs[part]['growth_pct']} %",
                f"< {TARGETS['rss_growth_pct']} %",
                results["orders_since_warmup"] >= 10_000
                and rs[part]["growth_pct"] < TARGETS["rss_growth_pct"],
            )
    base = results.get("baseline")
    if base:
        ceiling = base["monero"]["ceiling_orders_per_s"]
        checks.add(
            "baseline: orders/s ceiling with monero create_account on the request",
            f"{ceiling} orders/s",
            f"expected <= {TARGETS['baseline_monero_ceiling_rps']}",
            ceiling <= TARGETS["baseline_monero_ceiling_rps"],
            info=True,
        )
    return checks


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/order_create.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Do not run it at the same time as another benchmark (bench/wallet_scale.py, "
            "bench/quotes.py, bench/proof_load.py): they all use slot 7 (database "
            "exchange_bench, Redis database 8, var/regtest-bench, ports 20700+) and re-create "
            "the database at start. Duration: about 5-6 minutes "
            "(1-2 of them the regtest stack starting). Needs wrk (scripts/setup.sh installs "
            "it) unless --tool python."
        ),
    )
    parser.add_argument(
        "--connections",
        default="16,48",
        help="saturation runs, keep-alive connections each (default 16,48)",
    )
    parser.add_argument(
        "--saturation-seconds", type=float, default=10, help="per saturation run (default 10)"
    )
    parser.add_argument(
        "--saturation-cap",
        type=int,
        default=6000,
        help="most orders per saturation run (default 6000)",
    )
    parser.add_argument("--rate", type=float, default=100, help="steady rate, orders/s (100)")
    parser.add_argument(
        "--steady-seconds", type=float, default=30, help="steady run length (default 30)"
    )
    parser.add_argument(
        "--orders",
        type=int,
        default=10_000,
        help="orders created after the warm-up, for the RSS comparison (default 10000)",
    )
    parser.add_argument(
        "--baseline", type=int, default=20, help="create_account calls per node (default 20)"
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=4, help="Celery pool size (Procfile: 4)"
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--close-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also a diagnostic saturation run with 'Connection: close' (default: on)",
    )
    args = parser.parse_args(argv)
    try:
        args.connections = [int(c) for c in args.connections.split(",") if c.strip()]
    except ValueError:
        parser.error("--connections: comma-separated whole numbers")
    if not args.connections or min(args.connections) < 1:
        parser.error("--connections: at least one positive number")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env.sigterm_interrupts()
    results: dict = {
        "started_at": now_iso(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "loadavg_at_start": loadavg(),
        "environment": {
            "slot": env.SLOT,
            "web": env.WEB_URL,
            "database": env.DB_NAME,
            "redis": env.REDIS_URL,
            "regtest_home": str(home()),
            "gunicorn": "exchange.wsgi -c python:exchange.gunicorn_conf --workers 3 "
            "--threads 4 --access-logfile -",
            "throttles": THROTTLES,
            "pool_min": settings.POOL_MIN,
        },
        "targets": TARGETS,
    }
    say(f"load average at start: {results['loadavg_at_start']}")
    status = 0
    web = worker = None
    people = None
    synthetic: list[MasterWallet] = []
    try:
        env.environment_prepare(say)
        say()
        say(f"-- baseline: {args.baseline} x create_account per node (live) --")
        results["baseline"] = node_baseline(args.baseline)
        print_baseline(results["baseline"])
        say()
        say("-- set-up --")
        people = env.make_people()
        saturation_runs = len(args.connections) + (1 if args.close_run else 0)
        budget = WARMUP_ORDERS + saturation_runs * args.saturation_cap
        budget += int(args.rate * args.steady_seconds) + args.orders + 1000
        per_chain = budget // 2 + settings.POOL_MIN + 500
        started = time.perf_counter()
        synthetic = env.synthetic_pool(per_chain)
        say(
            f"  buyer and vendor created; {per_chain:,} synthetic pooled accounts per chain "
            f"in {time.perf_counter() - started:.1f} s"
        )
        floor_ops = len(args.connections) * args.saturation_cap
        floor_ops += int(args.rate * args.steady_seconds)
        floors.order_floor_prepare(floor_ops // 2 + 100)
        say(f"  floor tables: {floor_ops // 2 + 100:,} pooled accounts per chain")
        connections.close_all()
        web = env.start_web(**THROTTLES)
        worker = env.start_worker(concurrency=args.worker_concurrency)
        say(f"  gunicorn pid {web.pid} on {env.WEB_URL}; celery worker pid {worker.pid}")
        say()
        say("-- load --")
        results["loadavg_before_load"] = loadavg()
        run_load(args, people, web, worker, results)
        results["loadavg_after_load"] = loadavg()
        results["rss_summary"] = summarize_rss(results)
    except KeyboardInterrupt:
        say("\ninterrupted")
        results["error"] = "interrupted"
        status = 130
    except Exception as exc:
        traceback.print_exc()
        results["error"] = f"{exc.__class__.__name__}: {exc}"
        status = 1
    finally:
        env.nodes_resume()
        say()
        say("-- clean-up --")
        for proc in (web, worker):
            if proc is not None:
                proc.stop()
        try:
            floors.order_floor_drop()
        except Exception as exc:  # noqa: BLE001 - reported, the run is cleaning up
            say(f"  dropping the floor tables failed: {exc}")
        if synthetic:
            try:
                connections.close_all()
                results["deleted"] = env.synthetic_cleanup(
                    synthetic, people["buyer"] if people else None
                )
                say(f"  synthetic master wallets deleted with {results['deleted']}")
            except Exception as exc:
                say(f"  synthetic clean-up failed: {exc}")
        say("  regtest stack: stopping")
        env.stack_down(say)
    if "runs" in results and results.get("rss_summary"):
        print_results(results)
    checks = verdicts(results)
    results["checks"] = checks.rows
    if checks.rows:
        say()
        say("== targets ==")
        say(checks.text())
    results["finished_at"] = now_iso()
    results["node_calls_by_method_bench_process"] = node_calls_by_method()
    write_json(JSON_PATH, results)
    say()
    say(f"figures written to {JSON_PATH}")
    if status == 0 and not checks.all_ok:
        status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
