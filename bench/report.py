"""Printing and recording the benchmarks' figures: plain tables, pass/fail checks, JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path


def say(text: str = "") -> None:
    print(text, flush=True)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in cells[1:] if row[i]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if numeric[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def load_table(runs: list[dict]) -> str:
    """One row per load run (devtools.load results)."""
    return table(
        [
            "run",
            "tool",
            "conns",
            "requests",
            "seconds",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "status codes",
            "client cpu s",
        ],
        [
            [
                r["label"],
                r["tool"],
                r.get("connections") or f"<={r.get('max_connections')}",
                r["requests"],
                r["seconds"],
                r["throughput_rps"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["errors"],
                " ".join(f"{k}:{v}" for k, v in r["status"].items()),
                r.get("client_cpu_s"),
            ]
            for r in runs
        ],
    )


CPU_GROUPS = ("web", "worker", "mariadb", "redis", "bench", "wrk", "other")


def cpu_table(runs: list[dict]) -> str:
    """CPU per request by process group for the runs that were metered."""
    metered = [r for r in runs if r.get("cpu")]
    groups = [g for g in CPU_GROUPS if any(g in r["cpu"]["ms_per_request"] for r in metered)]
    rows = []
    for r in metered:
        per = r["cpu"]["ms_per_request"]
        known = sum(v for k, v in per.items() if k != "other" and v is not None)
        rows.append(
            [r["label"], r["cpu"]["machine_busy_cores"]]
            + [per.get(g, "") for g in groups]
            + [round(known, 2), r.get("loadavg_after", {}).get("1min")]
        )
    return "CPU per request, ms (machine: 2 cores; other = everything else on the machine)\n" + (
        table(
            ["run", "busy cores", *groups, "ours total", "load 1m after"],
            rows,
        )
    )


class Checks:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, what: str, value, target: str, ok: bool | None, *, info: bool = False) -> None:
        """``ok`` None: not measured (counted as missed). ``info``: an expectation, not a
        target (shown as "as expected" or "unexpected", never failing the run)."""
        self.rows.append({"check": what, "value": value, "target": target, "ok": ok, "info": info})

    @property
    def all_ok(self) -> bool:
        return all(r["ok"] for r in self.rows if not r["info"])

    @staticmethod
    def _result(row: dict) -> str:
        if row["info"]:
            return "as expected" if row["ok"] else "unexpected (info)"
        return "PASS" if row["ok"] else ("n/a" if row["ok"] is None else "FAIL")

    def text(self) -> str:
        return table(
            ["check", "value", "target", "result"],
            [[r["check"], r["value"], r["target"], self._result(r)] for r in self.rows],
        )


def loadavg() -> dict:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return {"1min": float(one), "5min": float(five), "15min": float(fifteen)}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


# --- figures against their floors (bench/floors.py) ---------------------------------------


def to_floor(run: dict, floor: dict) -> dict:
    """``run``'s throughput and p99 beside ``floor``'s (measured in the same benchmark run),
    and as ratios: throughput / the floor's (at most 1 in practice), p99 / the floor's (at
    least 1). Stored on the run as ``run["floor"]``."""
    throughput, floor_throughput = run.get("throughput_rps"), floor.get("throughput_rps")
    p99, floor_p99 = run.get("p99_ms"), floor.get("p99_ms")
    return {
        "label": floor["label"],
        "throughput_rps": floor_throughput,
        "p99_ms": floor_p99,
        "throughput_ratio": round(throughput / floor_throughput, 3)
        if throughput and floor_throughput
        else None,
        "p99_ratio": round(p99 / floor_p99, 1) if p99 and floor_p99 else None,
    }


def floor_table(runs: list[dict]) -> str:
    """One row per run that has a floor (``to_floor``): its figures, the floor's, the ratios."""
    return table(
        [
            "run",
            "req/s",
            "floor req/s",
            "ratio",
            "p99 ms",
            "floor p99 ms",
            "p99 / floor",
            "floor",
        ],
        [
            [
                r["label"],
                r["throughput_rps"],
                r["floor"]["throughput_rps"],
                r["floor"]["throughput_ratio"],
                r["p99_ms"],
                r["floor"]["p99_ms"],
                r["floor"]["p99_ratio"],
                r["floor"]["label"],
            ]
            for r in runs
            if r.get("floor")
        ],
    )
