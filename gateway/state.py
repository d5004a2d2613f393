"""The gateway's long-lived objects, built once in the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.completion import FinishedJobs, RedisFinishedSubscriber
from gateway.metrics import GatewayMetrics
from gateway.runners import DistributedRunner, EmbeddedRunner, JobRunner
from services.notify import Notifier, ThreadedWebhookSender
from services.settings import Settings
from services.store import JobStore, MemoryJobStore, RedisJobStore
from services.worker import celery_webhook_sender


@dataclass
class GatewayState:
    settings: Settings
    store: JobStore
    runner: JobRunner
    metrics: GatewayMetrics
    notifier: Notifier | None = None  # webhooks and batch completion
    finished: FinishedJobs = field(default_factory=FinishedJobs)  # wakes requests waiting for a job
    closers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> GatewayState:
        store: JobStore
        runner: JobRunner
        closers: list[Callable[[], None]] = []
        finished = FinishedJobs()
        if settings.mode == "distributed":
            store = RedisJobStore(settings)
            runner = DistributedRunner(settings, store)
            notifier = Notifier(store, celery_webhook_sender(settings))
            subscriber = RedisFinishedSubscriber(store, finished)
            subscriber.start()
            closers.append(subscriber.close)
        else:
            store = MemoryJobStore(settings)
            store.add_finished_listener(finished.notify)
            runner = EmbeddedRunner(settings, store)
            sender = ThreadedWebhookSender(settings)
            closers.append(sender.close)
            notifier = Notifier(store, sender)
            runner.on_finished = notifier.job_finished
        closers.append(runner.close)
        return cls(
            settings=settings,
            store=store,
            runner=runner,
            metrics=GatewayMetrics(runner, store),
            notifier=notifier,
            finished=finished,
            closers=closers,
        )

    def close(self) -> None:
        for close in self.closers:
            close()
