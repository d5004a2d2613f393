#!/usr/bin/env bash
# Install what tests/browser needs: Debian's Chromium (with a colour emoji font, so emoji strings render) and the
# Playwright Python package that drives it. Never runs `playwright install`: the tests use /usr/bin/chromium.
#   bash scripts/install_browser.sh          (PYTHON=... picks the interpreter; default .venv/bin/python, python3)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  PY=python3
fi

apt_packages=()
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || apt_packages+=(fonts-noto-color-emoji)
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install_browser: need root (or sudo) to apt-get install ${apt_packages[*]}" >&2
    exit 1
  fi
  echo "install_browser: apt-get install ${apt_packages[*]}" >&2
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

if ! "$PY" -c "import playwright.sync_api" >/dev/null 2>&1; then
  echo "install_browser: pip install playwright into $PY" >&2
  "$PY" -m pip install -q "playwright>=1.44"
fi

/usr/bin/chromium --version 2>/dev/null | grep -i chromium >&2
"$PY" -c "from importlib.metadata import version; print('playwright', version('playwright'))" >&2
