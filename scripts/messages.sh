#!/usr/bin/env bash
# The translation catalogues (locale/{nl,fr,de}/LC_MESSAGES/django.po and djangojs.po).
#   scripts/messages.sh update    re-extract every marked string into the catalogues (new ones untranslated)
#   scripts/messages.sh compile   build the .mo files Django reads (not committed; `make run` and `make test` do it)
# Both need GNU gettext (the Debian package `gettext`); `tests/i18n/test_catalogues.py` fails on any
# marked string without a finished translation.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# manage.py reads the settings; these commands use no secret, so placeholders do when none is set.
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-alliance.settings.test}
export SECRET_KEY=${SECRET_KEY:-catalogues} ALLIANCE_KEK=${ALLIANCE_KEK:-catalogues}
LANGS=(-l nl -l fr -l de)
IGNORE=(--ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=docs --ignore=clients
  --ignore=static/vendor --ignore=node_modules --ignore=locale)
case "${1:-compile}" in
  update)
    "$PY" manage.py makemessages "${LANGS[@]}" --add-location=file --no-obsolete "${IGNORE[@]}"
    "$PY" manage.py makemessages -d djangojs "${LANGS[@]}" --add-location=file --no-obsolete "${IGNORE[@]}"
    ;;
  compile)
    "$PY" manage.py compilemessages -v0 "${IGNORE[@]}"
    ;;
  *) echo "usage: $0 update|compile" >&2; exit 2 ;;
esac
