#!/usr/bin/env bash
# `make proof`: the fault, security and fuzzing suites against the full stack on regtest,
# then the load test (nodes running, then frozen); one summary table at the end, also
# written to var/proof/proof.json.
#   --long    1,000+ crash-injected payouts and 5-minute load runs
#   --reuse   take the suites' results from the last `make test` (which runs them) and run
#             only the load test; .ci/run uses it after `make test`
#   --gate-correctness   fail only on correctness (lost, duplicated, errors, failed tests),
#             report the latency and memory targets without failing on them
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests || exit 1
long="" reuse="" gate="all"
for arg in "$@"; do
  case "$arg" in
    --long) long="--long" ;;
    --reuse) reuse=1 ;;
    --gate-correctness) gate="correctness" ;;
    *) echo "proof: unknown option $arg" >&2; exit 2 ;;
  esac
done
status=0
if [ -z "$reuse" ]; then
  .venv/bin/python -m pytest tests/faults tests/security tests/wallets/test_payouts.py $long -q --junitxml=var/proof/junit.xml || status=1
fi
.venv/bin/python bench/proof_load.py $long || [ "$gate" = "correctness" ] || status=1
.venv/bin/python bench/proof_report.py --gate "$gate" || status=1
exit $status
