"""The FastAPI app: ``create_app(settings)`` for tests and servers, ``run_server`` for ``emoticon serve``.

/v1/jobs ...   submit and poll jobs, fetch renders        (X-API-Key when settings.api_keys is set)
/v1/render     render attributes                          (X-API-Key when settings.api_keys is set)
/v1/batches    many files at once, progress, JSON Lines results (X-API-Key when settings.api_keys is set)
               /v1 answers CORS preflights for settings.cors_origins
/healthz /readyz /metrics
/              the web page (gateway/static/index.html); its assets under /static/
/docs          OpenAPI
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from gateway.cors import ApiCORSMiddleware
from gateway.deps import ApiKeyDep
from gateway.errors import install_error_handlers
from gateway.metrics import RequestMetricsMiddleware
from gateway.routes import batches, health, jobs, metrics, render
from gateway.state import GatewayState
from services.errors import NotFound
from services.settings import Settings, get_settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings.mode``: embedded (models loaded in a thread at startup, jobs on a thread) or
    distributed (jobs sent to the Celery workers over Redis)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = GatewayState.build(settings)
        app.state.gateway = state
        state.runner.start()
        log.info("gateway started", extra={"mode": settings.mode})
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="Emoticon",
        summary="Photos to emoticons of every face in them: expression, eyewear, mask and skin tone.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        RequestMetricsMiddleware,
        metrics=lambda: getattr(getattr(app.state, "gateway", None), "metrics", None),
    )
    if settings.cors_origins:  # outside the metrics: a refused preflight is answered before any route
        app.add_middleware(ApiCORSMiddleware, origins=list(settings.cors_origins))

    # each router carries its full path (route templates in metrics are then complete)
    app.include_router(jobs.router, dependencies=[ApiKeyDep])
    app.include_router(render.router, dependencies=[ApiKeyDep])
    app.include_router(batches.router, dependencies=[ApiKeyDep])
    app.include_router(health.router)
    app.include_router(metrics.router)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            raise NotFound("the web page is not installed (gateway/static/index.html)")
        return FileResponse(page, media_type="text/html")

    return app


def run_server(settings: Settings, distributed: bool | None = None) -> None:
    """Serve the app with uvicorn on ``settings.host:settings.port`` until stopped (blocks). ``distributed``
    overrides ``settings.mode`` when given."""
    import uvicorn

    if distributed is not None:
        settings = settings.model_copy(update={"mode": "distributed" if distributed else "embedded"})
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
