#!/usr/bin/env bash
# Install what the project needs on a fresh machine: Debian packages named on
# the command line (only when missing), the virtualenv and requirements-dev.txt
# (only when it or requirements.txt changed since the last install).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
pkgs=("$@")
# Debian's python3 makes virtualenvs only with python3-venv (ensurepip) installed.
if [ ! -x .venv/bin/python ] && ! "$PY" -c "import ensurepip" >/dev/null 2>&1; then pkgs+=(python3-venv); fi

missing=()
for pkg in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian packages start their own services; this project runs its own
# throwaway instances instead, so stop the system ones if they came up.
for svc in redis-server postgresql caddy; do
  if ((${#missing[@]})) && printf '%s\n' "${missing[@]}" | grep -qx "${svc}"; then
    (service "$svc" stop || true) >/dev/null 2>&1
  fi
done

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv"
  "$PY" -m venv .venv
fi
# Tests, lint, `make run` and the benchmarks need the development tools too: requirements-dev.txt
# (which includes requirements.txt and the scanner client in clients/python, installed editable).
# Production images install requirements.txt alone (Dockerfile).
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt clients/python/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing requirements-dev.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
