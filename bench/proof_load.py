"""`make proof`'s load scenario: mixed traffic at a steady rate, nodes running then frozen.

Order creation (30 %), quotes (20 %), order reads (30 %) and rate reads (20 %) against
gunicorn with a real Celery worker, on loopback, at a fixed rate (open loop: latency counts
from each request's scheduled time). First with every node running, then with all four
node processes SIGSTOPped. Targets per case: p99 ≤ 50 ms and 0 errors; RSS of the web and
worker process trees grows ≤ 20 % over the whole run. Writes var/bench/proof_load.json.

    .venv/bin/python bench/proof_load.py            # 30 s per case at 200 requests/s
    .venv/bin/python bench/proof_load.py --long     # 5 minutes per case

Runs in the benchmarks' isolated environment (bench/env.py, slot 7): not at the same time
as another benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import env  # noqa: E402

env.activate()

import django  # noqa: E402

django.setup()


from bench.report import now_iso, say, write_json  # noqa: E402
from devtools.load.client import Req, fixed  # noqa: E402
from devtools.load.loops import closed_loop, open_loop  # noqa: E402
from devtools.processes import Process, tree_rss  # noqa: E402

P99_TARGET_MS = 50.0
RSS_GROWTH_TARGET_PCT = 20.0
MIX = ["order"] * 3 + ["quote"] * 2 + ["read"] * 3 + ["rates"] * 2


def _factory(token: str, order_id: int):
    auth = ("Authorization", f"Token {token}")
    json_headers = (auth, ("Content-Type", "application/json"))
    order_body = {
        "BTC": json.dumps(
            {"currency": "BTC", "amount": "5000000", "vendor": "bench-vendor"}
        ).encode(),
        "XMR": json.dumps(
            {"currency": "XMR", "amount": "500000000000", "vendor": "bench-vendor"}
        ).encode(),
    }
    quote_body = json.dumps(
        {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1000000", "type": "fixed"}
    ).encode()
    run = uuid.uuid4().hex[:10]

    def factory(i: int) -> Req:
        kind = MIX[i % len(MIX)]
        if kind == "order":
            currency = "BTC" if (i // len(MIX)) % 2 else "XMR"
            return Req(
                "POST",
                "/api/orders",
                (*json_headers, ("Idempotency-Key", f"{run}-{i}")),
                order_body[currency],
            )
        if kind == "quote":
            return Req("POST", "/api/quotes", (("Content-Type", "application/json"),), quote_body)
        if kind == "read":
            return Req("GET", f"/api/orders/{order_id}", (auth,))
        return Req("GET", "/api/rates")

    return factory


def _rss(web: Process, worker: Process) -> int:
    return tree_rss(web.pid)["total_kib"] + tree_rss(worker.pid)["total_kib"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--long", action="store_true", help="5 minutes per case")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=None, help="seconds per case")
    args = parser.parse_args(argv)
    duration = args.duration or (300.0 if args.long else 30.0)
    orders_needed = int(args.rate * duration * 2 * MIX.count("order") / len(MIX)) + 200

    results: dict = {
        "started_at": now_iso(),
        "rate_rps": args.rate,
        "seconds_per_case": duration,
        "cases": [],
    }
    web = worker = None
    synthetic = []
    people = None
    try:
        env.environment_prepare(say=say)
        env.market_prepare()
        people = env.make_people()
        synthetic = env.synthetic_pool(orders_needed // 2 + 100)
        worker = env.start_worker(concurrency=2)
        # One client stands for many users here: the per-user and anonymous limits are lifted.
        web = env.start_web(
            workers=3, threads=4, THROTTLE_USER="1000000/min", THROTTLE_ANON="1000000/min"
        )
        first = closed_loop(
            f"http://127.0.0.1:{env.WEB_PORT}",
            fixed(
                Req(
                    "POST",
                    "/api/orders",
                    (
                        ("Authorization", f"Token {people['token']}"),
                        ("Content-Type", "application/json"),
                    ),
                    json.dumps(
                        {"currency": "BTC", "amount": "5000000", "vendor": "bench-vendor"}
                    ).encode(),
                )
            ),
            connections=1,
            requests=1,
        )
        from orders.models import EscrowOrder

        order_id = (
            EscrowOrder.objects.filter(buyer=people["buyer"]).values_list("id", flat=True).first()
        )
        if order_id is None:
            raise RuntimeError(f"the first order was not created: {first}")
        factory = _factory(people["token"], order_id)
        url = f"http://127.0.0.1:{env.WEB_PORT}"
        open_loop(url, factory, rate=args.rate, duration=5, label="warm-up")
        rss_start = _rss(web, worker)
        for name, frozen in (("nodes running", False), ("nodes frozen", True)):
            if frozen:
                env.nodes_freeze()
            try:
                say(f"-- {name}: {args.rate:.0f} requests/s for {duration:.0f} s")
                run = open_loop(url, factory, rate=args.rate, duration=duration, label=name)
            finally:
                if frozen:
                    env.nodes_resume()
            rss_now = _rss(web, worker)
            growth = round((rss_now - rss_start) * 100 / rss_start, 1)
            passed = (
                run["errors"] == 0
                and run["p99_ms"] <= P99_TARGET_MS
                and growth <= RSS_GROWTH_TARGET_PCT
            )
            case = {
                "name": name,
                "injected": "all 4 node processes SIGSTOPped" if frozen else "none",
                "achieved_rps": run["throughput_rps"] or 0.0,
                "p50_ms": run["p50_ms"],
                "p95_ms": run["p95_ms"],
                "p99_ms": run["p99_ms"],
                "errors": run["errors"],
                "status": run["status"],
                "rss_start_kib": rss_start,
                "rss_end_kib": rss_now,
                "rss_growth_pct": growth,
                "passed": passed,
                "run": run,
            }
            results["cases"].append(case)
            say(
                f"   {case['achieved_rps']:.0f} req/s, p50 {case['p50_ms']} ms, p95 {case['p95_ms']} ms, "
                f"p99 {case['p99_ms']} ms, {case['errors']} errors, RSS {rss_start} → {rss_now} KiB "
                f"(+{growth} %): {'pass' if passed else 'FAIL'}"
            )
    finally:
        env.nodes_resume()
        for proc in (web, worker):
            if proc is not None:
                proc.stop()
        if synthetic:
            results["cleanup"] = env.synthetic_cleanup(
                synthetic, people["buyer"] if people else None
            )
        env.stack_down(say=say)
    results["finished_at"] = now_iso()
    results["passed"] = bool(results["cases"]) and all(c["passed"] for c in results["cases"])
    write_json(env.VAR_DIR / "proof_load.json", results)
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
