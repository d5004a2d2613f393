"""Dependencies, declared once as ``Annotated`` aliases and reused by every route."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader

from gateway.completion import FinishedJobs
from gateway.runners import JobRunner
from gateway.state import GatewayState
from services.contracts import RenderOptions, RenderSet, ToneChoice
from services.errors import Unauthorized
from services.settings import Settings
from services.store import JobStore

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="required when keys are configured"
)


def get_state(request: Request) -> GatewayState:
    return request.app.state.gateway


def get_settings(state: Annotated[GatewayState, Depends(get_state)]) -> Settings:
    return state.settings


def get_store(state: Annotated[GatewayState, Depends(get_state)]) -> JobStore:
    return state.store


def get_runner(state: Annotated[GatewayState, Depends(get_state)]) -> JobRunner:
    return state.runner


def get_finished(state: Annotated[GatewayState, Depends(get_state)]) -> FinishedJobs:
    return state.finished


StateDep = Annotated[GatewayState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
FinishedDep = Annotated[FinishedJobs, Depends(get_finished)]


def get_render_options(
    size: Annotated[int, Query(ge=16, le=1024, description="PNG side in pixels")] = 256,
    tone: Annotated[ToneChoice, Query(description="auto uses the detected skin tone")] = "auto",
    renders: Annotated[
        RenderSet, Query(description="all: SVG + PNG per face and the overlay; svg: SVG only (live video)")
    ] = "all",
) -> RenderOptions:
    """What to draw for every face of an upload, from the query (``POST /v1/jobs`` and ``POST /v1/batches``)."""
    return RenderOptions(size=size, tone=tone, renders=renders)


RenderOptionsDep = Annotated[RenderOptions, Depends(get_render_options)]


def require_api_key(settings: SettingsDep, api_key: Annotated[str | None, Security(api_key_header)]) -> None:
    """With ``settings.api_keys`` set, ``X-API-Key`` must equal one of them (compared in constant time)."""
    if not settings.api_keys:
        return
    if api_key is None:
        raise Unauthorized("this server requires an X-API-Key header")
    if not any(hmac.compare_digest(api_key.encode(), key.encode()) for key in settings.api_keys):
        raise Unauthorized("the X-API-Key is not valid")


ApiKeyDep = Depends(require_api_key)
