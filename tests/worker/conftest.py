"""Fixtures of the stage tests: the models loaded once, and a stage context over each kind of store."""

from __future__ import annotations

import pytest

from services.settings import Settings
from services.store import JobStore, MemoryJobStore, RedisJobStore
from services.worker import StageContext, load_stage_models


@pytest.fixture(scope="session")
def stage_models() -> dict:
    settings = Settings()
    return {**load_stage_models("detector", settings), **load_stage_models("classifier", settings)}


@pytest.fixture(params=["memory", "redis"])
def context(request: pytest.FixtureRequest, redis_settings: Settings, stage_models: dict) -> StageContext:
    store: JobStore = (
        MemoryJobStore(redis_settings) if request.param == "memory" else RedisJobStore(redis_settings)
    )
    return StageContext(settings=redis_settings, store=store, **stage_models)
