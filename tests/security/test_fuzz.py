"""schemathesis against the running app's OpenAPI schema, authenticated: no 5xx, and
every documented response matches its schema."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devtools.processes import PYTHON
from tests.testenv import ROOT

REPORT = ROOT / "var" / "proof" / "schemathesis"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    wallets, buyer, celery_worker, api_server, proof, django_capture_on_commit_callbacks
):
    from rates.services import rates_refresh
    from wallets.services import balances_sync

    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()
    for chain in ("bitcoin", "monero"):
        balances_sync(chain=chain)
    token = buyer.api._credentials["HTTP_AUTHORIZATION"]
    examples = 25
    proof.update(
        scenario="API fuzzing (schemathesis, authenticated)",
        injected=f"every operation, {examples} examples each, examples+coverage+fuzzing phases",
    )
    result = subprocess.run(
        [
            str(Path(PYTHON).parent / "schemathesis"),
            "run",
            f"{api_server}/api/schema/",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--header",
            f"Authorization: {token}",
            "--max-examples",
            str(examples),
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "10",
            "--seed",
            "1",
            "--suppress-health-check",
            "all",
            "--report",
            "junit",
            "--report-dir",
            str(REPORT),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = [line for line in result.stdout.splitlines() if "passed" in line or "failed" in line][
        -3:
    ]
    proof.update(summary=summary)
    assert result.returncode == 0, result.stdout[-6000:]
    assert json.dumps(summary)
