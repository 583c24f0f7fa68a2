# The two commands. Everything else is in scripts/.
.PHONY: run test lint bench messages

run:
	@bash scripts/bootstrap.sh run
	@bash scripts/messages.sh compile
	@.venv/bin/python scripts/run.py

test:
	@bash scripts/bootstrap.sh dev
	@bash scripts/test.sh

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

# Add the strings marked since the last run to locale/zh_Hans/LC_MESSAGES/django.po and list those without a
# translation (fill in their msgstr, then `make test` compiles the catalog and checks it is complete).
messages:
	@bash scripts/bootstrap.sh dev
	@bash scripts/messages.sh make

bench:
	@bash scripts/bootstrap.sh dev
	@.venv/bin/python -m bench
