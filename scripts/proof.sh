#!/usr/bin/env bash
# `make proof`: the fault, security and fuzzing suites against the full stack on regtest,
# then the load test (nodes running, then frozen); one summary table at the end, also
# written to var/proof/proof.json. `--long` runs 100+ payout crashes and 5-minute loads.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests || exit 1
long=""
for arg in "$@"; do [ "$arg" = "--long" ] && long="--long"; done
status=0
.venv/bin/python -m pytest tests/faults tests/security $long -q --junitxml=var/proof/junit.xml || status=1
.venv/bin/python bench/proof_load.py $long || status=1
.venv/bin/python bench/proof_report.py || status=1
exit $status
