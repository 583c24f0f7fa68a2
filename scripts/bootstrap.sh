#!/usr/bin/env bash
# Prepares this checkout: the virtualenv and its pinned requirements, and for `dev` what the tests
# need (Debian's Chromium). Safe to run again: it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
python=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "==> creating the virtualenv in .venv"
  "$python" -m venv .venv
fi
req=requirements.txt
[ "$mode" = dev ] && req=requirements-dev.txt
stamp=".venv/.installed-$mode-$(cat requirements.txt "$req" | sha1sum | cut -c1-16)"
quiet_pip() {
  # Some machines list package mirrors that do not exist; pip warns once per package about them.
  .venv/bin/python -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
if [ ! -f "$stamp" ]; then
  echo "==> installing $req"
  quiet_pip --upgrade pip
  quiet_pip -r "$req"
  touch "$stamp"
fi

if [ "$mode" = dev ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Chromium: install Debian's 'chromium' package (sudo apt-get install chromium)." >&2
    exit 1
  fi
fi
# The sign-in tests run a real OpenID provider (tests/oidc_provider/: oidc-provider on Node.js), installed from its
# package-lock.json into tests/oidc_provider/node_modules (gitignored) when the lock file changed.
if [ "$mode" = dev ]; then
  if ! command -v node >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's nodejs and npm for the sign-in tests' OpenID provider"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if ! command -v node >/dev/null 2>&1 || ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
      process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "The sign-in tests need Node.js 20.19 or later (with npm) for their OpenID provider; found:" \
      "$(node --version 2>/dev/null || echo none). Install it and run make test again." >&2
    exit 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "The sign-in tests need npm (beside Node.js $(node --version)) to install their OpenID provider." >&2
    exit 1
  fi
  npm_stamp="tests/oidc_provider/node_modules/.installed-$(sha1sum tests/oidc_provider/package-lock.json | cut -c1-16)"
  if [ ! -f "$npm_stamp" ]; then
    echo "==> installing the test OpenID provider (npm ci in tests/oidc_provider)"
    npm ci --prefix tests/oidc_provider --no-audit --no-fund --loglevel=error >/dev/null
    touch "$npm_stamp"
  fi
fi
if ! command -v kubectl >/dev/null 2>&1 && [ "$mode" = dev ]; then
  echo "note: kubectl is not installed; the kubectl tests will fail. Install kubectl 1.32." >&2
fi

# A font with Chinese glyphs, so that the zh-Hans screenshots of the browser tests show text, not boxes.
if [ "$mode" = dev ] && command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's fonts-wqy-zenhei (Chinese glyphs for the browser tests' screenshots)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null
  else
    echo "note: no font with Chinese glyphs; the zh-Hans screenshots will show boxes (apt-get install fonts-wqy-zenhei)." >&2
  fi
fi

# The browser tests' JavaScript (axe-core, pinned in package-lock.json) goes into node_modules/, gitignored.
if [ "$mode" = dev ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing Debian's npm for the accessibility tests (axe-core)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    else
      echo "The accessibility tests need npm: install Debian's 'npm' package (sudo apt-get install npm)." >&2
      exit 1
    fi
  fi
  npm_stamp="node_modules/.installed-$(sha1sum package-lock.json | cut -c1-16)"
  if [ ! -f "$npm_stamp" ]; then
    echo "==> npm ci (package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$npm_stamp"
  fi
fi
