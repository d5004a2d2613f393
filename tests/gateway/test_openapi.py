"""docs/openapi.json is the app's schema: frontends generate clients from the committed file, so it must not
drift from the code. Regenerate it with ``scripts/export_openapi.py``."""

from __future__ import annotations

import importlib.util
import json

from services.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "export_openapi.py"


def load_script():
    spec = importlib.util.spec_from_file_location("export_openapi", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_openapi_matches_the_app() -> None:
    script = load_script()
    assert script.OPENAPI_PATH.is_file(), "docs/openapi.json is missing: run scripts/export_openapi.py"
    committed = json.loads(script.OPENAPI_PATH.read_text(encoding="utf-8"))
    current = json.loads(script.openapi_text())
    drifted = sorted(
        set(committed.get("paths", {})) ^ set(current.get("paths", {}))
    )  # named first: the most common drift
    assert not drifted, f"paths differ ({drifted}): run scripts/export_openapi.py"
    assert committed == current, (
        "docs/openapi.json differs from the app's schema: run scripts/export_openapi.py"
    )


def test_the_document_names_every_route_of_the_api() -> None:
    paths = json.loads(load_script().openapi_text())["paths"]
    for path in ("/v1/jobs", "/v1/jobs/{job_id}", "/v1/render", "/v1/batches", "/v1/batches/{batch_id}"):
        assert path in paths, path
    assert (
        "application/jsonl" in paths["/v1/batches/{batch_id}/results"]["get"]["responses"]["200"]["content"]
    )
