#!/usr/bin/env bash
# `make test`: the same set-up as `make run` without the foreground processes, then the
# two tiers, each its own pytest run:
#   1. the fast tier (tests/fast/): no node, no worker, the database rolled back per test;
#   2. only if it passed, the integration tier (everything else), which starts its own
#      regtest stack (ports 20000+, var/regtest-test-*) and stops it, and writes
#      var/proof/junit.xml for `make proof --reuse`.
# `scripts/test.sh --fast [ARGS]` (`make test-fast`) runs the fast tier alone.
# ARGS are pytest options given to each tier (`--long`, `-k EXPR`, `-x`); a tier that
# selects no test (pytest's status 5) does not fail the run. ARGS naming test paths are
# run as they are, in one pytest run that writes the report.
set -euo pipefail
cd "$(dirname "$0")/.."
fast_only=""
if [ "${1:-}" = "--fast" ]; then
  fast_only=1
  shift
fi
scripts/setup.sh --tests
mkdir -p var/proof
PYTEST=(.venv/bin/python -m pytest)

for arg in "$@"; do
  if [ "${arg#-}" = "$arg" ] && [ -e "${arg%%::*}" ]; then
    exec "${PYTEST[@]}" --junitxml=var/proof/junit.xml "$@"
  fi
done

tier() {
  local status=0
  "${PYTEST[@]}" "$@" || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    exit "$status"
  fi
}

if [ -n "$fast_only" ]; then
  tier tests/fast "$@"
  exit 0
fi
# A report of an earlier run must not stand for this one if the fast tier fails.
rm -f var/proof/junit.xml
tier tests/fast "$@"
tier tests --ignore=tests/fast --junitxml=var/proof/junit.xml "$@"
