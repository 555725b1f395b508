"""`make proof`'s summary: every scenario, what was injected, the counts, pass or fail.

The counts are those the scenarios measured from the nodes (tests/books.py): transactions
the nodes show paying each expected payment, beyond it, or missing.

Reads what the suites recorded (var/proof/scenarios-0.jsonl from the fault and fuzz
tests, var/proof/junit.xml for every test, var/bench/proof_load.json from the load run),
prints one table and writes var/proof/proof.json. Exits 1 if anything failed or is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROOF = ROOT / "var" / "proof"
LOAD = ROOT / "var" / "bench" / "proof_load.json"


def _junit() -> dict[str, dict]:
    path = PROOF / "junit.xml"
    if not path.exists():
        return {}
    by_file: dict[str, dict] = defaultdict(lambda: {"tests": 0, "failed": 0, "skipped": 0})
    # The junit report is the one pytest just wrote here, not outside input.
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314
        name = case.get("classname", "").split(".")
        module = ".".join(name[:3]) if len(name) >= 3 else ".".join(name)
        row = by_file[module]
        row["tests"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            row["failed"] += 1
        elif case.find("skipped") is not None:
            row["skipped"] += 1
    return dict(by_file)


def _scenarios() -> list[dict]:
    path = PROOF / "scenarios-0.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _table(headers: list[str], rows: list[list]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--gate",
        choices=["all", "correctness"],
        default="all",
        help="correctness: fail on lost, duplicated, errors and failed tests only",
    )
    gate = parser.parse_args(argv).gate
    scenarios = _scenarios()
    junit = _junit()
    load = json.loads(LOAD.read_text()) if LOAD.exists() else None
    rows, ok = [], True
    for s in scenarios:
        counts = (
            f"{s.get('expected', '-')}/{s.get('made', '-')}/{s.get('duplicated', '-')}/{s.get('lost', '-')}"
            if "expected" in s
            else "-"
        )
        if "payouts_killed" in s:
            counts += f" ({s['payouts_killed']} payouts killed)"
        # The figures are what the checker read from the nodes: any duplicate or loss fails.
        sound = not s.get("duplicated") and not s.get("lost")
        rows.append(
            [
                s.get("scenario", s["test"]),
                s.get("injected", ""),
                counts,
                "pass" if s["passed"] and sound else "FAIL",
            ]
        )
        ok &= bool(s["passed"]) and sound
    security = {k: v for k, v in junit.items() if k.startswith("tests.security")}
    for module, r in sorted(security.items()):
        passed = r["tests"] - r["failed"] - r["skipped"]
        rows.append(
            [
                f"security: {module.rsplit('.', 1)[-1]}",
                f"{r['tests']} checks",
                f"{passed} passed",
                "pass" if not r["failed"] else "FAIL",
            ]
        )
        ok &= not r["failed"]
    failed_tests = sum(r["failed"] for r in junit.values())
    if not junit:
        rows.append(["test run", "", "no junit report", "FAIL"])
        ok = False
    if load is None:
        rows.append(["load", "", "no load report", "FAIL"])
        ok = False
    else:
        for case in load["cases"]:
            figures = (
                f"{case['achieved_rps']:.0f} req/s, p50 {case['p50_ms']} / p95 {case['p95_ms']} / "
                f"p99 {case['p99_ms']} ms, {case['errors']} errors, RSS +{case['rss_growth_pct']}%"
            )
            correct = case["errors"] == 0
            if case["passed"]:
                verdict = "pass"
            else:
                verdict = "slow (reported)" if gate == "correctness" and correct else "FAIL"
            rows.append([f"load: {case['name']}", case["injected"], figures, verdict])
            ok &= case["passed"] if gate == "all" else correct
    print()
    print("== make proof ==   counts, read from the nodes: payouts expected/made/duplicated/lost")
    print(_table(["scenario", "injected", "counts / figures", "result"], rows))
    print(
        f"\n{sum(r['tests'] for r in junit.values())} tests, {failed_tests} failed; overall: {'PASS' if ok else 'FAIL'}"
    )
    PROOF.mkdir(parents=True, exist_ok=True)
    (PROOF / "proof.json").write_text(
        json.dumps({"passed": ok, "scenarios": scenarios, "tests": junit, "load": load}, indent=2)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
