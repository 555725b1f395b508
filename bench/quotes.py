"""Rates and quotes benchmark: GET /api/rates and POST /api/quotes from cache, and a rate
refresh with one provider hanging.

    cd /work/main && .venv/bin/python bench/quotes.py [--rate 100] [--seconds 30]

Isolated like bench/wallet_scale.py (bench/env.py): slot 7 (ports 20700+), Redis database
8, regtest data in var/regtest-bench, MariaDB database ``exchange_bench`` (dropped,
re-created and migrated at start). It shares all of that with the other benchmarks
(wallet_scale.py, order_create.py, proof_load.py): run one benchmark at a time.
Everything it starts (the regtest stack, gunicorn, the local exchanges server) is stopped
at the end, also on an error or Ctrl-C.

1. The house's liquidity: each chain's master wallet and liquidity account, then
   ``balances_sync`` on both chains (which syncs swaps.Liquidity).
2. A fresh rate: ``rates_refresh()`` with the default provider (static) in a transaction,
   so its after-commit hook caches it in Redis (``rates:current``).
3. gunicorn as in the Procfile (3 workers x 4 threads, DEBUG off; THROTTLE_ANON raised for
   the run, the default 600/min would answer 429 to one client at 100/s). After a warm-up:
   GET /api/rates and POST /api/quotes (anonymous, SWAPS_ALLOW_ANONYMOUS; BTC->XMR and
   XMR->BTC alternately) each at a steady rate (open loop), then each at saturation (wrk).
   Every answer comes from the web processes' memory and Redis (plus the database rows a
   quote writes). The floor (bench/floors.py) after the steady runs and after the
   saturation runs: one GET of the cached rate (``rates:current``) through the same Redis,
   at the same rate, and from as many threads as the saturation runs have connections;
   every HTTP run's throughput and p99 is printed beside the floor's and as a ratio.
4. ``rates_refresh()`` with three real providers (kraken, kucoin, coingecko) pointed at a
   local HTTP server on 127.0.0.1 serving their recorded formats (tests/rates/exchanges.py):
   two answer, coingecko hangs past RATES_PROVIDER_TIMEOUT. Timed several times, and once
   more with all three answering for comparison.

Figures are printed as tables and written to var/bench/quotes.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
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
from django.db import connections, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402

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
from devtools.load.client import Req, cycle, fixed  # noqa: E402
from devtools.load.loops import closed_loop, open_loop, saturate  # noqa: E402
from devtools.processes import Process, descendants, pids_named  # noqa: E402
from devtools.regtest_nodes import home  # noqa: E402
from rates.cache import CACHE_KEY, rate_cache_clear  # noqa: E402
from rates.providers.base import _instances as provider_instances  # noqa: E402
from rates.services import rates_refresh  # noqa: E402
from tests.rates.exchanges import FakeExchanges, Handler, Server  # noqa: E402
from wallets.clients.base import node_calls_by_method  # noqa: E402

JSON_PATH = env.VAR_DIR / "quotes.json"
THROTTLES = {"THROTTLE_USER": "10000000/min", "THROTTLE_ANON": "10000000/min"}
WARMUP_REQUESTS = 400
WARMUP_CONNECTIONS = 12
QUOTE_BODIES = (
    {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1000000", "type": "fixed"},
    {"from_currency": "XMR", "to_currency": "BTC", "amount_from": "1000000000000", "type": "fixed"},
)
PROVIDERS = ("kraken", "kucoin", "coingecko")
HANGING = "coingecko"

TARGETS = {"rates_p99_ms": 10, "quotes_p99_ms": 30, "refresh_over_timeout_s": 1.0}


class BenchError(Exception):
    pass


def rates_request() -> Req:
    return Req("GET", "/api/rates", (("Accept", "application/json"),))


def quote_requests() -> list[Req]:
    headers = (("Content-Type", "application/json"), ("Accept", "application/json"))
    return [Req("POST", "/api/quotes", headers, json.dumps(b).encode()) for b in QUOTE_BODIES]


def call(req: Req) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", env.WEB_PORT, timeout=10)
    try:
        conn.request(req.method, req.path, req.body or None, dict(req.headers))
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


# --- set-up -------------------------------------------------------------------------------


# --- HTTP ---------------------------------------------------------------------------------


def metered(web: Process, run_fn) -> dict:
    """Run one load run and add the CPU it cost, per process group (``cpu``)."""
    groups = {
        "web": lambda: [web.pid, *descendants(web.pid)],
        "mariadb": lambda: pids_named("mariadbd"),
        "redis": lambda: pids_named("redis-server"),
        "bench": lambda: [os.getpid()],
    }
    with env.CpuMeter(groups) as meter:
        run = run_fn()
    extra = {"wrk": run["client_cpu_s"]} if run["tool"] == "wrk" else None
    run["cpu"] = meter.result(run["answered"], extra=extra)
    run["loadavg_after"] = loadavg()
    return run


def http_runs(args, web: Process, results: dict) -> None:
    url = env.WEB_URL
    runs: list[dict] = []
    results["runs"] = runs
    results["floors"] = []
    status, body = call(rates_request())
    if status != 200:
        raise BenchError(f"GET /api/rates answered {status}: {body}")
    results["sample_rates"] = body
    status, body = call(quote_requests()[0])
    if status != 201:
        raise BenchError(f"POST /api/quotes answered {status}: {body}")
    results["sample_quote"] = body
    say(f"  GET /api/rates: rate {results['sample_rates']['rate']}; one quote: {body['amount_to']}")

    for name, factory in (
        ("rates", fixed(rates_request())),
        ("quotes", cycle(quote_requests())),
    ):
        runs.append(
            closed_loop(
                url,
                factory,
                connections=WARMUP_CONNECTIONS,
                requests=WARMUP_REQUESTS,
                duration=60,
                label=f"warm-up {name}",
            )
        )
    steady = []
    for name, path, factory in (
        ("GET /api/rates", "rates", fixed(rates_request())),
        ("POST /api/quotes", "quotes", cycle(quote_requests())),
    ):
        say(f"  {name}: {args.rate:g}/s for {args.seconds:g} s (open loop)")
        run = metered(
            web,
            lambda factory=factory, path=path: open_loop(
                url, factory, rate=args.rate, duration=args.seconds, label=f"{path} {args.rate:g}/s"
            ),
        )
        runs.append(run)
        steady.append(run)
        say(f"    p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms, errors {run['errors']}")
    say(f"  floor: GET {CACHE_KEY} from Redis, {args.rate:g}/s for {args.seconds:g} s")
    floor = floors.open_threads(
        floors.redis_op(CACHE_KEY),
        rate=args.rate,
        duration=args.seconds,
        max_connections=WARMUP_CONNECTIONS,
        label=f"floor {args.rate:g}/s",
        tool=floors.REDIS_TOOL,
    )
    results["floors"].append(floor)
    for run in steady:
        run["floor"] = to_floor(run, floor)
    say(f"    p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms, errors {floor['errors']}")
    saturated = []
    for name, path, templates in (
        ("GET /api/rates", "rates", [rates_request()]),
        ("POST /api/quotes", "quotes", quote_requests()),
    ):
        say(f"  {name}: saturation, {args.connections} connections, {args.saturation_seconds:g} s")
        run = metered(
            web,
            lambda templates=templates, path=path: saturate(
                url + templates[0].path,
                templates,
                tool=args.tool,
                connections=args.connections,
                duration=args.saturation_seconds,
                label=f"{path} saturation",
            ),
        )
        runs.append(run)
        saturated.append(run)
        say(f"    {run['throughput_rps']} req/s, p99 {run['p99_ms']} ms, errors {run['errors']}")
    say(
        f"  floor: GET {CACHE_KEY} from Redis, {args.connections} connections, "
        f"{args.saturation_seconds:g} s"
    )
    floor = floors.closed_threads(
        floors.redis_op(CACHE_KEY),
        connections=args.connections,
        duration=args.saturation_seconds,
        cap=10_000_000,
        label=f"floor c={args.connections}",
        tool=floors.REDIS_TOOL,
    )
    results["floors"].append(floor)
    for run in saturated:
        run["floor"] = to_floor(run, floor)
    say(f"    {floor['throughput_rps']} ops/s, p99 {floor['p99_ms']} ms, errors {floor['errors']}")


# --- refresh with a hanging provider ------------------------------------------------------


def _one_refresh(label: str) -> dict:
    started = time.perf_counter()
    with transaction.atomic():
        snapshot = rates_refresh()
    seconds = time.perf_counter() - started
    return {
        "run": label,
        "seconds": round(seconds, 3),
        "ok": snapshot.ok,
        "rate": str(snapshot.rate) if snapshot.rate is not None else None,
        "used": sorted(n for n, s in snapshot.sources.items() if s.get("used")),
        "errors": {n: s["error"] for n, s in snapshot.sources.items() if s.get("error")},
        "latency_ms": {n: s.get("latency_ms") for n, s in snapshot.sources.items()},
    }


def refresh_runs(args) -> dict:
    server = Server(("127.0.0.1", 0), Handler)
    exchanges = FakeExchanges(port=server.server_address[1])
    server.exchanges = exchanges
    thread = threading.Thread(target=server.serve_forever, name="fake-exchanges", daemon=True)
    thread.start()
    timeout = args.provider_timeout
    exchanges.hang_seconds = timeout + 5
    runs = []
    try:
        overrides = {
            "RATES_PROVIDERS": list(PROVIDERS),
            "RATES_PROVIDER_URLS": {n: exchanges.url(n) for n in (*PROVIDERS, "bitfinex")},
            "RATES_PROVIDER_TIMEOUT": timeout,
            "RATES_QUORUM": 2,
        }
        with override_settings(**overrides):
            provider_instances.clear()  # one instance per process: start from fresh sessions
            runs.append(_one_refresh("all three answer (warm-up)"))
            runs.append(_one_refresh("all three answer"))
            for i in range(args.refresh_repeats):
                exchanges.reset()
                exchanges.set(HANGING, "hang")
                runs.append(_one_refresh(f"{HANGING} hangs #{i + 1}"))
                exchanges.release.set()  # let the hung handler go before the next round
    finally:
        exchanges.release.set()
        server.shutdown()
        server.server_close()
        provider_instances.clear()
        rate_cache_clear(memory_only=True)
    hung = [r for r in runs if "hangs" in r["run"]]
    return {
        "providers": list(PROVIDERS),
        "hanging": HANGING,
        "provider_timeout_s": timeout,
        "hang_seconds": exchanges.hang_seconds,
        "runs": runs,
        "hanging_max_s": max(r["seconds"] for r in hung) if hung else None,
        "hanging_median_s": round(statistics.median(r["seconds"] for r in hung), 3)
        if hung
        else None,
    }


def print_refresh(refresh: dict) -> None:
    say()
    say(
        f"== rates_refresh(): {', '.join(refresh['providers'])} on a local server, "
        f"RATES_PROVIDER_TIMEOUT={refresh['provider_timeout_s']:g} s, {refresh['hanging']} "
        f"hanging {refresh['hang_seconds']:g} s =="
    )
    say(
        table(
            ["run", "seconds", "agreed", "rate", "sources used", "provider latency ms", "errors"],
            [
                [
                    r["run"],
                    r["seconds"],
                    r["ok"],
                    r["rate"],
                    ",".join(r["used"]),
                    " ".join(f"{n}:{ms}" for n, ms in sorted(r["latency_ms"].items())),
                    "; ".join(f"{n}: {e}" for n, e in r["errors"].items()) or "-",
                ]
                for r in refresh["runs"]
            ],
        )
    )


# --- verdicts -----------------------------------------------------------------------------


def verdicts(results: dict) -> Checks:
    checks = Checks()
    runs = {r["label"]: r for r in results.get("runs", [])}
    for key, what, limit in (
        ("rates", "GET /api/rates", TARGETS["rates_p99_ms"]),
        ("quotes", "POST /api/quotes", TARGETS["quotes_p99_ms"]),
    ):
        run = next(
            (r for label, r in runs.items() if label.startswith(f"{key} ") and "/s" in label), None
        )
        if run:
            checks.add(
                f"{what} p99 at a steady {run['rate_rps']:g}/s",
                f"{run['p99_ms']} ms (p50 {run['p50_ms']})",
                f"<= {limit} ms",
                run["p99_ms"] <= limit,
            )
    if runs:
        errors = sum(r["errors"] for r in runs.values())
        checks.add("errors (every HTTP run)", errors, "0", errors == 0)
    refresh = results.get("refresh")
    if refresh and refresh["hanging_max_s"] is not None:
        limit = refresh["provider_timeout_s"] + TARGETS["refresh_over_timeout_s"]
        hung = [r for r in refresh["runs"] if "hangs" in r["run"]]
        checks.add(
            f"refresh with {refresh['hanging']} hanging (max of {len(hung)})",
            f"{refresh['hanging_max_s']} s",
            f"<= {limit:g} s (timeout + 1 s)",
            refresh["hanging_max_s"] <= limit,
        )
        checks.add(
            "refresh with one provider hanging still agrees a rate (quorum 2 of 3)",
            all(r["ok"] for r in hung),
            "True",
            all(r["ok"] for r in hung),
        )
    return checks


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/quotes.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Do not run it at the same time as another benchmark (bench/wallet_scale.py, "
            "bench/order_create.py, bench/proof_load.py): they all use slot 7 (database "
            "exchange_bench, Redis database 8, var/regtest-bench, ports 20700+) and re-create "
            "the database at start. Duration: "
            "about 4 minutes. Needs wrk for the saturation runs (scripts/setup.sh installs it) "
            "unless --tool python."
        ),
    )
    parser.add_argument("--rate", type=float, default=100, help="steady rate, requests/s (100)")
    parser.add_argument("--seconds", type=float, default=30, help="steady run length (30)")
    parser.add_argument("--connections", type=int, default=16, help="saturation connections (16)")
    parser.add_argument(
        "--saturation-seconds", type=float, default=10, help="saturation run length (10)"
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--provider-timeout",
        type=float,
        default=float(settings.RATES_PROVIDER_TIMEOUT),
        help="RATES_PROVIDER_TIMEOUT for the refresh runs "
        f"(default {settings.RATES_PROVIDER_TIMEOUT:g}, from the settings)",
    )
    parser.add_argument(
        "--refresh-repeats", type=int, default=3, help="refreshes with a hanging provider (3)"
    )
    return parser.parse_args(argv)


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
        },
        "targets": TARGETS,
    }
    say(f"load average at start: {results['loadavg_at_start']}")
    status = 0
    web = None
    try:
        env.environment_prepare(say)
        say()
        say("-- set-up --")
        results["market"] = {**env.market_prepare(), "providers": list(settings.RATES_PROVIDERS)}
        m = results["market"]
        say(
            f"  rate {m['rate']} ({', '.join(m['providers'])}); liquidity available "
            + ", ".join(f"{c} {v}" for c, v in m["liquidity_available"].items())
        )
        connections.close_all()
        web = env.start_web(**THROTTLES)
        say(f"  gunicorn pid {web.pid} on {env.WEB_URL}")
        say()
        say("-- HTTP --")
        results["loadavg_before_load"] = loadavg()
        http_runs(args, web, results)
        results["loadavg_after_load"] = loadavg()
        web.stop()
        web = None
        say()
        say("-- refresh with a hanging provider --")
        results["refresh"] = refresh_runs(args)
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
        say("-- clean-up --")
        if web is not None:
            web.stop()
        say("  regtest stack: stopping")
        env.stack_down(say)
    if results.get("runs"):
        say()
        say("== GET /api/rates and POST /api/quotes (gunicorn 3 workers x 4 threads) ==")
        say(load_table(results["runs"] + results.get("floors", [])))
        say(
            "(latency: the open loop from each request's scheduled time, wrk and the closed "
            "loop from send to answer; client cpu s: the load generator's own CPU time; "
            f"floor runs: one GET of {CACHE_KEY} from Redis, bench/floors.py)"
        )
        say()
        say("Against the floor measured in the same run (ratio = req/s / floor req/s)")
        say(floor_table(results["runs"]))
        say()
        say(cpu_table(results["runs"]))
    if results.get("refresh"):
        print_refresh(results["refresh"])
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
