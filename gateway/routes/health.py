"""``/healthz``: the process is alive. ``/readyz``: it can do work (503 until then)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.deps import RunnerDep, SettingsDep, StoreDep
from services.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready: models loaded (embedded), or Redis set up and a worker with loaded models per stage",
)
def readyz(runner: RunnerDep, settings: SettingsDep, store: StoreDep) -> JSONResponse:
    """``checks.store`` is the job store's fill level (bytes used, reserved by jobs in flight, budget); a full
    store does not make the gateway unready (new jobs get 503 ``store_full`` until finished jobs make room)."""
    readiness = runner.readiness()
    checks = dict(readiness.checks)
    try:
        checks["store"] = store.usage().as_dict()
    except ServiceUnavailable:
        checks["store"] = "unavailable"
    body = {
        "status": "ready" if readiness.ready else "not_ready",
        "mode": settings.mode,
        "checks": checks,
    }
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
