"""The gateway's long-lived objects, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.metrics import GatewayMetrics
from gateway.runners import DistributedRunner, EmbeddedRunner, JobRunner
from services.settings import Settings
from services.store import JobStore, MemoryJobStore, RedisJobStore


@dataclass
class GatewayState:
    settings: Settings
    store: JobStore
    runner: JobRunner
    metrics: GatewayMetrics

    @classmethod
    def build(cls, settings: Settings) -> GatewayState:
        store: JobStore
        runner: JobRunner
        if settings.mode == "distributed":
            store = RedisJobStore(settings)
            runner = DistributedRunner(settings, store)
        else:
            store = MemoryJobStore(settings)
            runner = EmbeddedRunner(settings, store)
        return cls(settings=settings, store=store, runner=runner, metrics=GatewayMetrics(runner, store))
