"""Write the app's OpenAPI document to docs/openapi.json (or check that the committed file is current).

    .venv/bin/python scripts/export_openapi.py          # regenerate docs/openapi.json
    .venv/bin/python scripts/export_openapi.py --check  # exit 1 when docs/openapi.json differs from the app

tests/gateway/test_openapi.py runs the same comparison, so a route or model change without a regenerated
document fails the tests. The document does not depend on the settings (mode, keys, CORS): routes are the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.json"


def openapi_text() -> str:
    """The app's OpenAPI document as committed: sorted keys, two-space indent, UTF-8, a final newline."""
    from gateway.app import create_app
    from services.settings import Settings

    schema = create_app(Settings()).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when out of date")
    args = parser.parse_args(argv)
    text = openapi_text()
    if args.check:
        current = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.is_file() else ""
        if current != text:
            print(f"{OPENAPI_PATH} is out of date: run scripts/export_openapi.py", file=sys.stderr)
            return 1
        print(f"{OPENAPI_PATH} is current")
        return 0
    OPENAPI_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {OPENAPI_PATH} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
