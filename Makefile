.PHONY: setup run test lint format bench

# Install and set up everything (idempotent).
setup:
	scripts/setup.sh run

# Set up, start the regtest stack and run web, worker, beat, Flower (Ctrl-C stops all).
run:
	scripts/run.sh

# Set up, then run the whole test suite against real MariaDB, Redis and regtest nodes.
test:
	scripts/test.sh $(ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
