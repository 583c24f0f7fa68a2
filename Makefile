# The two commands. Everything else is in scripts/.
.PHONY: run test lint bench

run:
	@bash scripts/bootstrap.sh run
	@.venv/bin/python scripts/run.py

test:
	@bash scripts/bootstrap.sh dev
	@bash scripts/test.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	@bash scripts/bootstrap.sh dev
	@.venv/bin/python -m bench
