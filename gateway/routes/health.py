"""``/healthz``: the process is alive. ``/readyz``: it can do work (503 until then)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.deps import RunnerDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready: models loaded (embedded) or Redis and a worker per stage answer")
def readyz(runner: RunnerDep, settings: SettingsDep) -> JSONResponse:
    readiness = runner.readiness()
    body = {
        "status": "ready" if readiness.ready else "not_ready",
        "mode": settings.mode,
        "checks": readiness.checks,
    }
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
