"""Burst benchmark: 1,000 bitcoin orders in 10 s on a stack that has seen such a burst before.

    flock /tmp/bench.lock .venv/bin/python -m bench.order_burst [--orders 1000] [--seconds 10]

Isolated like the other benchmarks (bench/env.py: slot 7, ports 20700+, Redis database 8,
var/regtest-bench, MariaDB database ``exchange_bench`` dropped, re-created and migrated at
start); run one benchmark at a time. The pool runs with the engine's defaults (POOL_MIN 20,
POOL_MAX 2000, POOL_DEMAND_FACTOR 1.5, POOL_BATCH_SIZE 5, POOL_REFILL_PER_MINUTE_BTC 1200)
and real accounts on the live nodes: nothing is synthetic, nothing frozen.

1. A fresh stack: gunicorn as in the Procfile (3 workers x 4 threads) and one Celery worker
   (the refill runs in it); both pools filled to the floor, as a new install has them.
2. Warm-up: the same burst (``--orders`` bitcoin orders at an even rate over ``--seconds``)
   on the floor-sized pool. The refused get 503 with a Retry-After; they come back (in
   rounds, a closed loop of a few connections) until every order of the burst is served,
   as the refill makes accounts. Retry-After answers are sampled on the way.
3. The pool's target now follows that demand (``pool_status``): the benchmark waits for
   the refill to reach it, asking for a refill every few seconds as the scheduled pool
   check does each minute, and measures the refill rate.
4. The measured burst: ``--orders`` bitcoin orders at an even rate over ``--seconds``;
   201 answered, 503 refused, other 5xx, transport errors.

Figures are printed and written to var/bench/order_burst.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import env  # noqa: E402

# The engine's own pool settings (the slot environment pins the target to the floor).
POOL_ENV = {
    "POOL_MIN": "20",
    "POOL_MAX": "2000",
    "POOL_DEMAND_FACTOR": "1.5",
    "POOL_BATCH_SIZE": "5",
    "POOL_REFILL_PER_MINUTE_BTC": "1200",
    "POOL_REFILL_PER_MINUTE_XMR": "120",
}
# Raised for the run: the default 6000/min per user would answer 429 to the single buyer.
THROTTLES = {"THROTTLE_USER": "10000000/min", "THROTTLE_ANON": "10000000/min"}

env.activate()
os.environ.update(POOL_ENV)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

from bench.report import Checks, load_table, loadavg, now_iso, say, table, write_json  # noqa: E402
from devtools.load.client import Factory, Req  # noqa: E402
from devtools.load.loops import closed_loop, open_loop  # noqa: E402
from devtools.regtest_nodes import home  # noqa: E402
from wallets.models import Chain  # noqa: E402
from wallets.services import pool_refill, pool_refill_request, pooled_count  # noqa: E402
from wallets.services.master_wallets import master_wallet_ensure  # noqa: E402
from wallets.services.pool_target import pool_plan  # noqa: E402

JSON_PATH = env.VAR_DIR / "order_burst.json"
AMOUNT_BTC = "5000000"  # 0.05 BTC
RETRY_CONNECTIONS = 4
TARGETS = {"refused": 0, "other_5xx": 0, "transport_errors": 0}


class BenchError(Exception):
    pass


def order_template(token: str) -> Req:
    return Req(
        "POST",
        "/api/orders",
        (
            ("Authorization", f"Token {token}"),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ),
        json.dumps({"currency": "BTC", "amount": AMOUNT_BTC, "vendor": "bench-vendor"}).encode(),
    )


def keyed(template: Req) -> Factory:
    """A unique Idempotency-Key on every request."""
    run = uuid.uuid4().hex[:12]

    def factory(i: int) -> Req:
        headers = (*template.headers, ("Idempotency-Key", f"{run}-{i}"))
        return Req(template.method, template.path, headers, template.body)

    return factory


def counts(run: dict) -> dict:
    status = run["status"]
    return {
        "sent": run["requests"],
        "answered_201": status.get("201", 0),
        "refused_503": status.get("503", 0),
        "other_5xx": sum(n for c, n in status.items() if c[0] == "5" and c != "503"),
        "other": sum(n for c, n in status.items() if c not in ("201", "error") and c[0] != "5"),
        "transport_errors": run["transport_errors"],
    }


def retry_after_sample(template: Req) -> dict:
    """One order sent alone: its status and, if refused, its Retry-After."""
    conn = http.client.HTTPConnection("127.0.0.1", env.WEB_PORT, timeout=30)
    headers = dict(template.headers) | {"Idempotency-Key": uuid.uuid4().hex}
    conn.request(template.method, template.path, template.body, headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return {"status": response.status, "retry_after": response.getheader("Retry-After")}


def plan(chain: str = Chain.BITCOIN) -> dict:
    connections.close_all()
    return {"pooled": pooled_count(chain=chain), **pool_plan(chain=chain)}


def warm_up(url: str, template: Req, args, results: dict) -> None:
    say(f"  warm-up burst: {args.orders} bitcoin orders over {args.seconds:g} s")
    burst = open_loop(
        url,
        keyed(template),
        rate=args.orders / args.seconds,
        duration=args.seconds,
        max_connections=args.max_connections,
        label="warm-up burst",
    )
    first = counts(burst)
    served = first["answered_201"]
    say(f"    {first}")
    samples = [retry_after_sample(template) for _ in range(3)]
    say(f"    Retry-After samples, single orders just after it: {samples}")
    rounds = [burst]
    started = time.monotonic()
    while served < args.orders:
        if time.monotonic() - started > args.warmup_timeout:
            raise BenchError(f"warm-up: {served} of {args.orders} served in {args.warmup_timeout}s")
        time.sleep(2)
        left = args.orders - served
        run = closed_loop(
            url,
            keyed(template),
            connections=RETRY_CONNECTIONS,
            requests=left,
            duration=120,
            label=f"warm-up retry {len(rounds)}",
        )
        rounds.append(run)
        served += counts(run)["answered_201"]
    results["warmup"] = {
        "burst": first,
        "retry_after_samples": samples,
        "retry_rounds": len(rounds) - 1,
        "refused_in_retry_rounds": sum(counts(r)["refused_503"] for r in rounds[1:]),
        "served": served,
        "seconds_until_all_served": round(time.monotonic() - started + burst["seconds"], 1),
        "runs": rounds,
    }
    say(
        f"    all {served} served after {len(rounds) - 1} retry rounds, "
        f"{results['warmup']['seconds_until_all_served']} s after the burst began"
    )


def wait_for_target(args, results: dict) -> None:
    """Until the bitcoin pool holds its demand target; the refill rate seen meanwhile."""
    first = plan()
    say(f"  pool after the warm-up: {first}")
    samples = [(time.monotonic(), first["pooled"])]
    started = time.monotonic()
    current = first
    while current["pooled"] < current["target"]:
        if time.monotonic() - started > args.refill_timeout:
            raise BenchError(f"the refill did not reach the target: {current}")
        pool_refill_request(chain=Chain.BITCOIN)  # what the scheduled pool check does
        time.sleep(3)
        current = plan()
        samples.append((time.monotonic(), current["pooled"]))
    seconds = samples[-1][0] - samples[0][0]
    made = samples[-1][1] - samples[0][1]
    results["refill"] = {
        "before": first,
        "after": current,
        "accounts_made": made,
        "seconds": round(seconds, 1),
        "observed_per_minute": round(made * 60 / seconds) if seconds > 0 else None,
        "monero": plan(Chain.MONERO),
    }
    say(
        f"  pool at its target {current['target']} after {seconds:.1f} s: {made} accounts, "
        f"{results['refill']['observed_per_minute']}/min observed; engine's refill rate "
        f"{current['refill_per_minute']}/min (limit {current['refill_limit_per_minute']}, "
        f"measured node pace {current['refill_measured_per_minute']})"
    )
    say(f"  monero pool: {results['refill']['monero']}")


def measured_burst(url: str, template: Req, args, results: dict) -> None:
    say(f"  measured burst: {args.orders} bitcoin orders over {args.seconds:g} s")
    run = open_loop(
        url,
        keyed(template),
        rate=args.orders / args.seconds,
        duration=args.seconds,
        max_connections=args.max_connections,
        label="measured burst",
    )
    results["burst"] = {**counts(run), "run": run, "pool_after": plan()}
    say(f"    {counts(run)}")


def print_results(results: dict) -> None:
    say()
    say("== order burst (bitcoin) ==")
    rows = []
    for label, c in (
        ("warm-up burst (pool at the floor)", results.get("warmup", {}).get("burst")),
        ("measured burst (after the warm-up)", results.get("burst")),
    ):
        if c:
            rows.append(
                [
                    label,
                    c["sent"],
                    c["answered_201"],
                    c["refused_503"],
                    c["other_5xx"],
                    c["transport_errors"],
                ]
            )
    say(table(["run", "sent", "201", "503 refused", "other 5xx", "transport errors"], rows))
    refill = results.get("refill")
    if refill:
        after = refill["after"]
        say()
        say(
            table(
                ["pool", "value"],
                [
                    ["demand peak (10 min)", after["demand_peak"]],
                    ["target (peak x factor, floor..ceiling)", after["target"]],
                    ["refill: accounts made to reach it", refill["accounts_made"]],
                    ["refill: seconds", refill["seconds"]],
                    ["refill: observed accounts/min", refill["observed_per_minute"]],
                    ["refill: engine's rate /min (pool_status)", after["refill_per_minute"]],
                    [
                        "monero target / refill /min",
                        f"{refill['monero']['target']} / {refill['monero']['refill_per_minute']}",
                    ],
                ],
            )
        )
    runs = [*results.get("warmup", {}).get("runs", [])]
    if "burst" in results:
        runs.append(results["burst"]["run"])
    if runs:
        say()
        say(load_table(runs))


def verdicts(results: dict) -> Checks:
    checks = Checks()
    burst = results.get("burst")
    if burst:
        checks.add(
            f"refusals, {burst['sent']} orders after a warm-up",
            burst["refused_503"],
            "0",
            burst["refused_503"] == 0,
        )
        checks.add("other 5xx", burst["other_5xx"], "0", burst["other_5xx"] == 0)
        checks.add(
            "transport errors", burst["transport_errors"], "0", burst["transport_errors"] == 0
        )
        checks.add(
            "orders answered 201",
            burst["answered_201"],
            f"{burst['sent']}",
            burst["answered_201"] == burst["sent"],
        )
    return checks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.order_burst",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=1000, help="orders per burst (1000)")
    parser.add_argument("--seconds", type=float, default=10, help="length of a burst (10)")
    parser.add_argument("--max-connections", type=int, default=64)
    parser.add_argument("--warmup-timeout", type=float, default=900)
    parser.add_argument("--refill-timeout", type=float, default=900)
    parser.add_argument("--worker-concurrency", type=int, default=4)
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
            "database": env.DB_NAME,
            "regtest_home": str(home()),
            "pool": POOL_ENV,
            "throttles": THROTTLES,
        },
        "targets": TARGETS,
    }
    status = 0
    web = worker = None
    try:
        env.environment_prepare(say)
        people = env.make_people()
        for chain in (Chain.BITCOIN, Chain.MONERO):
            master_wallet_ensure(chain=chain)
            pool_refill(chain=chain, batch_size=settings.POOL_MIN, target=settings.POOL_MIN)
        connections.close_all()
        env.launcher.env = {**env.launcher.env, **POOL_ENV}  # the processes it starts
        web = env.start_web(
            THROTTLE_USER=THROTTLES["THROTTLE_USER"], THROTTLE_ANON=THROTTLES["THROTTLE_ANON"]
        )
        worker = env.start_worker(concurrency=args.worker_concurrency)
        say(f"  gunicorn pid {web.pid} on {env.WEB_URL}; celery worker pid {worker.pid}")
        say(f"  pool at the start: {plan()}")
        url = env.WEB_URL + "/api/orders"
        template = order_template(people["token"])
        warm_up(url, template, args, results)
        wait_for_target(args, results)
        measured_burst(url, template, args, results)
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
        for proc in (web, worker):
            if proc is not None:
                proc.stop()
        env.stack_down(say)
    print_results(results)
    checks = verdicts(results)
    results["checks"] = checks.rows
    if checks.rows:
        say()
        say("== targets ==")
        say(checks.text())
    results["finished_at"] = now_iso()
    write_json(JSON_PATH, results)
    say(f"figures written to {JSON_PATH}")
    if status == 0 and not checks.all_ok:
        status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
