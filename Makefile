.PHONY: setup run test test-fast proof lint typecheck format

# Install and set up everything (idempotent).
setup:
	scripts/setup.sh run

# Set up, start the regtest stack and run web, worker, beat, Flower (Ctrl-C stops all).
run:
	scripts/run.sh

# Set up, then the fast tier and, if it passes, the integration tier (real regtest nodes).
test:
	scripts/test.sh $(ARGS)

# The fast tier alone: no node, no worker, under a minute.
test-fast:
	scripts/test.sh --fast $(ARGS)

# The fault, security, fuzzing and load suites, with one summary table (ARGS=--long: longer).
proof:
	scripts/proof.sh $(ARGS)

lint: typecheck
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# mypy with the Django and DRF stubs, on the packages pyproject.toml lists ([tool.mypy] files).
typecheck:
	.venv/bin/mypy

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
