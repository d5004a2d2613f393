#!/usr/bin/env bash
# Install Emoticon into .venv, fetch the face detector, and analyse photos in one process (embedded mode).
#   ./run.sh                 analyse a demo photo (scikit-image's astronaut) into out/
#   ./run.sh PATH...         analyse your files or folders into out/ (JSON Lines on stdout)
#   ./run.sh serve           start the web page and API on http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/emoticon ] || [ pyproject.toml -nt .venv/.installed ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[demo]"
  touch .venv/.installed
fi
.venv/bin/emoticon setup
if [ "${1:-}" = "serve" ]; then
  shift
  exec .venv/bin/emoticon serve "$@"
fi
if [ $# -eq 0 ]; then
  mkdir -p out
  .venv/bin/python -c "import skimage.data, cv2; cv2.imwrite('out/astronaut.jpg', skimage.data.astronaut()[:, :, ::-1])"
  set -- out/astronaut.jpg
fi
.venv/bin/emoticon analyze "$@" --out out --json
echo "emoticons written under out/ (results.jsonl, <image>/faces/*.svg|png, overlay.png)" >&2
