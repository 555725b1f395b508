#!/usr/bin/env bash
# `make test`: the same set-up as `make run` without the foreground processes, then pytest.
# The tests start their own regtest stack (ports 20000+, var/regtest-test-*) and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
mkdir -p var/proof
exec .venv/bin/python -m pytest --junitxml=var/proof/junit.xml "$@"
