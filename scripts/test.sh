#!/usr/bin/env bash
# The test command: lint, then every test, against real Redis, democluster, Chromium and,
# where it answers, PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODIUM_DEV=true
mkdir -p "${PODIUM_VAR_DIR:-var}"
REDIS_URL=$(.venv/bin/python scripts/services.py redis 15)
export REDIS_URL
echo "==> Redis at $REDIS_URL"

echo "==> ruff check"
.venv/bin/ruff check .
echo "==> ruff format --check"
.venv/bin/ruff format --check .

echo "==> pytest (SQLite)"
.venv/bin/python -m pytest "$@"

if [ -z "${PODIUM_SKIP_POSTGRES:-}" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "==> pytest, sync tests on PostgreSQL"
  DATABASE_URL=${PODIUM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/podium} \
    .venv/bin/python -m pytest -m postgres "$@"
fi
