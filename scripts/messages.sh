#!/usr/bin/env bash
# The translation catalog (locale/zh_Hans/LC_MESSAGES/django.po; English is the source language).
#   bash scripts/messages.sh compile   build the .mo files from the .po files (the run and test commands do this);
#   bash scripts/messages.sh make      add the strings marked in templates and Python since the last run to the
#                                      catalog (`make messages`), then list those that still need a translation.
# Compiling needs GNU gettext's msgfmt: installed here (Debian's `gettext`, as root) when it is missing.
# The .mo files are built, never committed (.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
export PODIUM_DEV=true PODIUM_ENV_FILES=off
what=${1:-compile}

if ! command -v msgfmt >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's gettext (msgfmt) for the translation catalog"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null
  else
    echo "Compiling the translations needs GNU gettext: install Debian's 'gettext' package (sudo apt-get install gettext)." >&2
    exit 1
  fi
fi

case "$what" in
  compile)
    .venv/bin/python manage.py compilemessages --verbosity 0 --ignore .venv --ignore 'var/*'
    ;;
  make)
    # Everything Podium's own code marks (templates, Python); not the virtualenv, not the simulator, not the tests.
    .venv/bin/python manage.py makemessages --locale zh_Hans --no-obsolete --add-location file \
      --ignore .venv --ignore 'var/*' --ignore 'tests/*' --ignore 'democluster/*' --ignore 'realcluster/*' \
      --ignore 'bench/*' --ignore 'deploy/*' --ignore 'staticfiles/*' --ignore 'test-artifacts/*' --ignore 'node_modules/*'
    .venv/bin/python manage.py compilemessages --verbosity 0 --ignore .venv --ignore 'var/*'
    po=locale/zh_Hans/LC_MESSAGES/django.po
    echo "==> entries to translate in $po (an empty msgstr, or '#, fuzzy': a guess from a similar string; check it,"
    echo "    then delete its '#, fuzzy' and '#|' lines):"
    { msgattrib --untranslated --no-wrap "$po"; msgattrib --only-fuzzy --no-wrap "$po"; } | grep '^msgid "[^"]' || echo "    none"
    ;;
  *)
    echo "usage: bash scripts/messages.sh [compile|make]" >&2
    exit 2
    ;;
esac
