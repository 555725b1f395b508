"""The fault suite's shared parts: a real API server, and the record `make proof` prints."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests

from tests.processes import PYTHON, Process, wait_until
from tests.testenv import PORT_BASE, ROOT

PROOF_DIR = ROOT / "var" / "proof"
SCENARIOS = PROOF_DIR / "scenarios.jsonl"
API_PORT = PORT_BASE + 90


def pytest_sessionstart(session):
    PROOF_DIR.mkdir(parents=True, exist_ok=True)
    SCENARIOS.write_text("")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "call":
        item.proof_passed = report.passed
    return report


@pytest.fixture
def proof(request):
    """A test fills this dict (scenario, injected, counts); it is written with the outcome."""
    record: dict = {"test": request.node.nodeid}
    started = time.monotonic()
    yield record
    record["passed"] = getattr(request.node, "proof_passed", False)
    record["seconds"] = round(time.monotonic() - started, 1)
    with Path(SCENARIOS).open("a") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def api_server(_worker_handle):
    """gunicorn serving the app on loopback, as the Procfile runs it."""
    server = Process(
        "proof-web",
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "exchange.wsgi",
            "--bind",
            f"127.0.0.1:{API_PORT}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "30",
        ],
    )
    base = f"http://127.0.0.1:{API_PORT}"

    def up():
        try:
            return requests.get(f"{base}/api/", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout=30, what=f"gunicorn\n{server.log_tail()}")
    yield base
    server.stop()


def measure(session: requests.Session, calls, *, seconds: float) -> dict:
    """Run ``calls`` (functions making one request each) round-robin for ``seconds``;
    latency percentiles in ms and the error count."""
    latencies, errors, statuses = [], 0, {}
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            status = calls[i % len(calls)](session)
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 500:
                errors += 1
        except requests.RequestException:
            errors += 1
        latencies.append((time.monotonic() - started) * 1000)
        i += 1
    latencies.sort()

    def pct(p):
        return (
            round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 1)
            if latencies
            else None
        )

    return {
        "requests": len(latencies),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "errors": errors,
        "statuses": statuses,
    }


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
