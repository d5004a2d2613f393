#!/usr/bin/env bash
# Install Emoticon with its test and training extras into .venv, fetch the detector and the browser, run the tests.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/pytest ] || [ pyproject.toml -nt .venv/.installed-test ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[demo,test,train]"
  touch .venv/.installed-test
fi
bash scripts/install_browser.sh
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
.venv/bin/emoticon setup
set +e
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi
exit "$rc"
