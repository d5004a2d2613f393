"""Who runs a job once the gateway stored it: threads in this process (embedded) or Celery workers (distributed).

Both run the same steps (``services.worker.run_stage``) against a ``JobStore``; they differ only in where the
steps run and in how readiness and queue depth are measured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import redis

from services.budget import redis_memory_problems
from services.contracts import JobState
from services.errors import EmoticonError, ServiceUnavailable
from services.settings import Settings
from services.store import MemoryJobStore, RedisJobStore
from services.worker import (
    STAGES,
    StageContext,
    create_celery,
    mark_failed,
    queue_depths,
    run_stage,
    send_job,
    worker_model_states,
    workers_by_model_state,
)

log = logging.getLogger(__name__)

READY_CACHE_S = 3.0  # a /readyz answer is reused this long: inspecting workers takes about a second
INSPECT_TIMEOUT_S = 1.0


@dataclass
class Readiness:
    ready: bool
    checks: dict[str, object] = field(default_factory=dict)


class JobRunner(Protocol):
    def start(self) -> None: ...
    def submit(self, job_id: str) -> None: ...
    def queue_depths(self) -> dict[str, int]:
        """Jobs or messages waiting to start, by queue."""
        ...

    def readiness(self) -> Readiness: ...
    def close(self) -> None: ...


class EmbeddedRunner:
    """Runs jobs on one background thread after loading the models on it.

    One thread because OpenCV's dnn net is not safe to call from several threads at once and the heads already
    use every core through onnxruntime; jobs posted while the models load wait in the queue behind the load.
    """

    def __init__(self, settings: Settings, store: MemoryJobStore) -> None:
        self.settings = settings
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emoticon-job")
        self._ctx: StageContext | None = None
        self._load_error: str | None = None
        self._loaded = threading.Event()
        self._pending = 0
        self._lock = threading.Lock()
        self.on_finished: Callable[[JobState], None] | None = None  # set by GatewayState: webhooks, batches

    def start(self) -> None:
        self._executor.submit(self._load_models)

    def _load_models(self) -> None:
        from services.pipeline import Models

        t0 = time.perf_counter()
        try:
            models = Models.load(self.settings)
            self._ctx = StageContext(
                settings=self.settings,
                store=self.store,
                detector=models.detector,
                classifier=models.classifier,
                on_finished=self.on_finished,
            )
            log.info("models loaded", extra={"load_ms": round((time.perf_counter() - t0) * 1000)})
        except Exception as exc:
            self._load_error = (
                exc.message if isinstance(exc, EmoticonError) else f"{type(exc).__name__}: {exc}"
            )
            log.exception("loading the models failed")
        finally:
            self._loaded.set()

    def submit(self, job_id: str) -> None:
        with self._lock:
            self._pending += 1
        self._executor.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        with self._lock:
            self._pending -= 1
        if self._ctx is None:
            job = self.store.load_job(job_id)
            if job is not None:
                ctx = StageContext(settings=self.settings, store=self.store, on_finished=self.on_finished)
                mark_failed(job, ctx, "model_error", f"the models could not be loaded: {self._load_error}")
            return
        handoff = None
        for stage in STAGES:
            try:
                handoff = run_stage(stage, job_id, self._ctx, handoff)
            except Exception:  # noqa: BLE001 - run_stage logged it and marked the job failed
                return
            if handoff is None:
                return

    def queue_depths(self) -> dict[str, int]:
        with self._lock:
            return {"embedded": self._pending}

    def readiness(self) -> Readiness:
        if not self._loaded.is_set():
            return Readiness(False, {"models": "loading"})
        if self._ctx is None:
            return Readiness(False, {"models": f"failed: {self._load_error}"})
        return Readiness(True, {"models": "loaded"})

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class DistributedRunner:
    """Sends each job as a Celery chain; ready when Redis and at least one worker per stage answer."""

    def __init__(self, settings: Settings, store: RedisJobStore) -> None:
        self.settings = settings
        self.store = store
        self.celery = create_celery(settings)
        self._ready: tuple[float, Readiness] | None = None
        self._ready_lock = threading.Lock()

    def start(self) -> None:
        """Say at startup what the Redis memory settings get wrong (``services.budget``); /readyz says it too."""
        try:
            problems = self._memory_checks()["problems"]
        except ServiceUnavailable:
            log.warning("redis unreachable at startup; its memory settings are checked by /readyz")
            return
        for problem in problems:  # type: ignore[union-attr]
            log.error("redis is not set up for the job store budget: %s", problem)

    def _memory_checks(self) -> dict[str, object]:
        maxmemory, policy = self.store.memory_config()
        return {
            "maxmemory": maxmemory,
            "policy": policy,
            "problems": redis_memory_problems(maxmemory, policy, self.settings.store_max_bytes),
        }

    def submit(self, job_id: str) -> None:
        send_job(self.celery, job_id)

    def queue_depths(self) -> dict[str, int]:
        try:
            return queue_depths(self.settings, self.store.client)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def readiness(self) -> Readiness:
        with self._ready_lock:
            now = time.monotonic()
            if self._ready is not None and now - self._ready[0] < READY_CACHE_S:
                return self._ready[1]
            readiness = self._check()
            self._ready = (time.monotonic(), readiness)
            return readiness

    def _check(self) -> Readiness:
        """Ready when Redis answers, its memory settings cannot evict jobs (``redis_memory``), and every stage
        has a worker whose models are loaded (``workers``: such workers per stage; ``workers_without_models``:
        the others, loading or failed)."""
        if not self.store.ping():
            return Readiness(False, {"redis": "unreachable"})
        checks: dict[str, object] = {"redis": "ok"}
        try:
            memory = self._memory_checks()
        except ServiceUnavailable:
            return Readiness(False, {"redis": "unreachable"})
        checks["redis_memory"] = memory
        try:
            states = worker_model_states(self.celery, INSPECT_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - kombu raises several types when the broker drops
            return Readiness(False, {**checks, "workers": f"inspect failed: {type(exc).__name__}"})
        by_state = workers_by_model_state(states)
        loaded = {stage: counts.get("loaded", 0) for stage, counts in by_state.items()}
        checks["workers"] = loaded
        others = {
            stage: {models: n for models, n in counts.items() if models != "loaded"}
            for stage, counts in by_state.items()
            if any(models != "loaded" for models in counts)
        }
        if others:
            checks["workers_without_models"] = others
        return Readiness(all(loaded.values()) and not memory["problems"], checks)

    def close(self) -> None:
        self.celery.close()
