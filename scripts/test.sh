#!/usr/bin/env bash
# The test command: lint, then every test against real Redis, democluster, Chromium, and PostgreSQL.
# What is missing is installed (as root, with apt) and started for this run, then stopped:
#   Redis       REDIS_URL's when it answers, else a private redis-server on a free loopback port;
#   PostgreSQL  PODIUM_TEST_POSTGRES_URL's (or DATABASE_URL's when it is postgres://), else a private
#               cluster under var/postgres on a free loopback port (trust auth for the local user).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODIUM_DEV=true PODIUM_ENV_FILES=off
var="${PODIUM_VAR_DIR:-var}"
mkdir -p "$var"
services() { .venv/bin/python scripts/services.py "$@"; }

# manage.py in a new shell works after the test command too (see dashboard/settings.py).
services dev-env
run_dir="$(mktemp -d "$var/test-run.XXXXXX")"
postgres_started=""
cleanup() {
  services redis-stop "$run_dir" || true
  if [ -n "$postgres_started" ]; then
    echo "==> stopping the private PostgreSQL"
    services postgres-stop || true
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT

redis="$(services redis-start "$run_dir" 15)"
REDIS_URL="${redis%% *}"
export REDIS_URL

postgres_url="${PODIUM_TEST_POSTGRES_URL:-}"
if [ -z "$postgres_url" ] && [[ "${DATABASE_URL:-}" == postgres* ]]; then
  postgres_url="$DATABASE_URL"
fi
if [ -n "$postgres_url" ]; then
  postgres="$postgres_url (PODIUM_TEST_POSTGRES_URL or DATABASE_URL)"
else
  postgres_started=1
  postgres_url="$(services postgres-start)"
  postgres="$postgres_url (a private PostgreSQL cluster for this run)"
fi
if ! services postgres-check "$postgres_url"; then
  echo "PostgreSQL does not answer at $postgres_url: the PostgreSQL tests cannot run." >&2
  echo "Install PostgreSQL's server (Debian/Ubuntu: sudo apt-get install postgresql) and run make test again," >&2
  echo "or set PODIUM_TEST_POSTGRES_URL to a PostgreSQL whose user may create databases." >&2
  exit 1
fi

echo "==> ruff check"
.venv/bin/ruff check .
echo "==> ruff format --check"
.venv/bin/ruff format --check .

echo "==> the translation catalog (compilemessages)"
bash scripts/messages.sh compile

echo "==> the real control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok)"
if ! bindir="$(bash realcluster/build.sh)"; then
  echo "Building the real control plane from its Go modules failed (output above): the tests cannot run." >&2
  echo "It needs Go 1.26 and the Go module proxy (GOPROXY); see realcluster/README.md." >&2
  exit 1
fi
echo "    binaries in $bindir"

# Both parts always run; the command fails if either does.
echo "==> pytest on SQLite ($var/test-podium-<pid>.sqlite3, removed after) with Redis $redis"
sqlite_status=0
env -u DATABASE_URL .venv/bin/python -m pytest --durations=15 "$@" || sqlite_status=$?

echo "==> pytest -m postgres on PostgreSQL $postgres with Redis $redis"
postgres_status=0
DATABASE_URL="$postgres_url" .venv/bin/python -m pytest -m postgres "$@" || postgres_status=$?
if [ "$postgres_status" = 5 ] && [ "$#" -gt 0 ]; then
  echo "    (none of the tests selected by '$*' is a PostgreSQL test)"
  postgres_status=0
fi
echo "==> SQLite part: exit $sqlite_status; PostgreSQL part: exit $postgres_status"
[ "$sqlite_status" = 0 ] && [ "$postgres_status" = 0 ]
