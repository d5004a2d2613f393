"""The distributed mode: one Celery app, one queue per stage, a job = the chain detect → classify → compose.

Messages carry only the job id (a few dozen bytes of JSON). Everything else travels through the job store
(``services.store``) under keys that expire with the job: the upload, the decoded image (``arr:{id}:bgr``, an
HxWx3 uint8 BGR ``.npy``), the boxes and attributes (``json:{id}:detect|classify``) and the rendered files.
Each step reads its inputs by key and overwrites the same output keys, so running a step twice (a redelivered
message) gives the same result.

``run_stage`` is the plain function behind each task; the embedded gateway calls it too, with an in-memory
store, so both modes update job state the same way.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import redis
from celery import Celery, chain, signals
from celery.canvas import Signature
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from kombu.exceptions import OperationalError

from services.contracts import (
    ErrorInfo,
    FaceAttributes,
    FaceBox,
    ImageInfo,
    JobState,
    JobStatus,
)
from services.errors import EmoticonError, InvalidRequest, NotFound, ServiceUnavailable
from services.settings import Settings, get_settings
from services.store import JobStore, RedisJobStore

log = logging.getLogger(__name__)

Stage = Literal["detector", "classifier", "composer"]
STAGES: tuple[Stage, ...] = ("detector", "classifier", "composer")
TASK_NAMES: dict[Stage, str] = {
    "detector": "emoticon.detect",
    "classifier": "emoticon.classify",
    "composer": "emoticon.compose",
}
# How long a worker waits before retrying a step whose store (Redis) did not answer, and how often.
STORE_RETRY_COUNTDOWN_S = 2
STORE_RETRY_MAX = 10


@dataclass
class StageContext:
    """What a stage step needs, loaded once per process: the store and the models of that stage (or None)."""

    settings: Settings
    store: JobStore
    detector: Any | None = None  # services.detector.FaceDetector
    classifier: Any | None = None  # services.classifier.FaceClassifier


def load_stage_models(stage: Stage, settings: Settings) -> dict[str, Any]:
    """The models one stage uses: the detector stage loads res10, the classifier the ONNX heads, the composer none."""
    if stage == "detector":
        from services.detector import FaceDetector

        return {"detector": FaceDetector(settings)}
    if stage == "classifier":
        from services.classifier import FaceClassifier

        return {"classifier": FaceClassifier(settings)}
    return {}


# ---------------------------------------------------------------------------------------------------------------
# The steps: plain functions over (job, context)


def _detect(job: JobState, ctx: StageContext) -> dict[str, Any]:
    from services.pipeline import detect_stage

    data = ctx.store.load_upload(job.id)
    if data is None:
        raise NotFound(f"the upload of job {job.id} has expired", code="job_expired")
    t0 = time.perf_counter()
    decoded, boxes = detect_stage(data, ctx.detector, ctx.settings)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    ctx.store.save_array(job, "bgr", decoded.bgr)
    ctx.store.save_json(
        job,
        "detect",
        {
            "info": decoded.info.model_dump(mode="json"),
            "boxes": [box.model_dump(mode="json") for box in boxes],
            "ms": ms,
        },
    )
    return {"faces": len(boxes), "ms": ms}


def _load_intermediates(job_id: str, ctx: StageContext, names: tuple[str, ...]) -> tuple[Any, list[Any]]:
    bgr = ctx.store.load_array(job_id, "bgr")
    values = [ctx.store.load_json(job_id, name) for name in names]
    if bgr is None or any(v is None for v in values):
        raise NotFound(f"the intermediate data of job {job_id} has expired", code="job_expired")
    return bgr, values


def _classify(job: JobState, ctx: StageContext) -> dict[str, Any]:
    from services.pipeline import classify_stage

    bgr, (detected,) = _load_intermediates(job.id, ctx, ("detect",))
    boxes = [FaceBox.model_validate(b) for b in detected["boxes"]]
    t0 = time.perf_counter()
    attributes = classify_stage(bgr, boxes, ctx.classifier)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    ctx.store.save_json(
        job, "classify", {"attributes": [a.model_dump(mode="json") for a in attributes], "ms": ms}
    )
    return {"faces": len(attributes), "ms": ms}


def _compose(job: JobState, ctx: StageContext) -> dict[str, Any]:
    from services.pipeline import compose_stage

    bgr, (detected, classified) = _load_intermediates(job.id, ctx, ("detect", "classify"))
    boxes = [FaceBox.model_validate(b) for b in detected["boxes"]]
    attributes = [FaceAttributes.model_validate(a) for a in classified["attributes"]]
    timings = {"detector": detected["ms"], "classifier": classified["ms"]}
    t0 = time.perf_counter()
    composed = compose_stage(
        bgr, ImageInfo.model_validate(detected["info"]), boxes, attributes, job.options, timings
    )
    ms = round((time.perf_counter() - t0) * 1000, 2)
    composed.result.timings_ms["composer"] = ms
    for path, data in composed.files.items():
        ctx.store.save_file(job, path, data)
    done = job.model_copy(
        update={"status": JobStatus.done, "stage": None, "result": composed.result, "updated_at": time.time()}
    )
    ctx.store.save_job(done)
    ctx.store.drop_intermediates(job.id, arrays=("bgr",), jsons=("detect", "classify"))
    return {"faces": len(composed.result.faces), "ms": ms}


STEPS: dict[Stage, Callable[[JobState, StageContext], dict[str, Any]]] = {
    "detector": _detect,
    "classifier": _classify,
    "composer": _compose,
}


def mark_failed(job: JobState, ctx: StageContext, code: str, message: str) -> None:
    failed = job.model_copy(
        update={
            "status": JobStatus.failed,
            "error": ErrorInfo(code=code, message=message),
            "updated_at": time.time(),
        }
    )
    ctx.store.save_job(failed)
    ctx.store.drop_intermediates(job.id, arrays=("bgr",), jsons=("detect", "classify"))


def run_stage(stage: Stage, job_id: str, ctx: StageContext) -> dict[str, Any] | None:
    """Run one stage of one job: mark it running at ``stage``, call the step, record its latency.

    Returns a small summary (``{"faces", "ms"}``), or None when the chain must stop: the job is unknown or
    expired, already finished (a redelivered message), or failed here. A typed ``EmoticonError`` marks the job
    failed with its code and message; any other exception is logged, marks it failed with ``internal_error`` and
    is re-raised. ``ServiceUnavailable`` (the store does not answer) is re-raised untouched: the job cannot be
    marked, and the caller may retry.
    """
    job = ctx.store.load_job(job_id)
    if job is None:
        log.warning("job unknown or expired; stage skipped", extra={"job_id": job_id, "stage": stage})
        return None
    if job.status in (JobStatus.done, JobStatus.failed):
        log.info("job already finished; stage skipped", extra={"job_id": job_id, "stage": stage})
        return None
    job = job.model_copy(update={"status": JobStatus.running, "stage": stage, "updated_at": time.time()})
    ctx.store.save_job(job)
    t0 = time.perf_counter()
    try:
        summary = STEPS[stage](job, ctx)
    except ServiceUnavailable:
        raise
    except EmoticonError as exc:
        log.info("job failed", extra={"job_id": job_id, "stage": stage, "code": exc.code})
        mark_failed(job, ctx, exc.code, exc.message)
        return None
    except SoftTimeLimitExceeded:
        log.warning("stage timed out", extra={"job_id": job_id, "stage": stage})
        mark_failed(job, ctx, "timeout", f"the {stage} stage took longer than its time limit")
        return None
    except Exception as exc:
        log.exception("stage crashed", extra={"job_id": job_id, "stage": stage})
        mark_failed(job, ctx, "internal_error", f"the {stage} stage failed: {type(exc).__name__}")
        raise
    seconds = time.perf_counter() - t0
    ctx.store.record_stage(stage, seconds)
    log.info("stage done", extra={"job_id": job_id, "stage": stage, "duration_ms": round(seconds * 1000, 2)})
    return summary


# ---------------------------------------------------------------------------------------------------------------
# The Celery app


def broker_key_prefix(settings: Settings) -> str:
    """Every Celery key in Redis (queues, unacked set, results, control channels) lives under this prefix."""
    return f"{settings.key_prefix}:celery:"


def queue_key(settings: Settings, stage: Stage) -> str:
    """The Redis list holding the messages waiting in ``stage``'s queue (its ``LLEN`` is the queue depth)."""
    return f"{broker_key_prefix(settings)}{stage}"


def celery_config(settings: Settings) -> dict[str, Any]:
    if settings.broker_visibility_timeout_s <= settings.task_hard_time_limit_s:
        log.warning(
            "broker_visibility_timeout_s <= task_hard_time_limit_s: long tasks will be delivered twice",
            extra={
                "visibility_timeout_s": settings.broker_visibility_timeout_s,
                "hard_limit_s": settings.task_hard_time_limit_s,
            },
        )
    prefix = broker_key_prefix(settings)
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "broker_transport_options": {
            # Redis has no real acks: a delivered message sits in an "unacked" set and is put back in its queue
            # when it has been there longer than this. With acks_late and prefetch 1 a message stays unacked
            # exactly as long as its task runs, so this must exceed the hard time limit (or a slow task runs
            # twice), and it is also how long a job waits after its worker was SIGKILLed before another worker
            # takes it over. Default: hard limit 90 s + margin = 120 s.
            "visibility_timeout": settings.broker_visibility_timeout_s,
            # look for such abandoned messages every few seconds (kombu's default is every 100 s)
            "unacked_restore_interval": max(1, min(10, settings.broker_visibility_timeout_s // 5)),
            "unacked_restore_throttle": 1,
            "global_keyprefix": prefix,
            # a dead Redis must not hang a publish forever (BRPOP polls with a 1 s timeout, below this)
            "socket_timeout": 10,
            "socket_connect_timeout": 3,
        },
        "result_backend_transport_options": {"global_keyprefix": prefix},
        "result_expires": settings.job_ttl_s,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_hard_time_limit_s,
        "task_routes": {TASK_NAMES[stage]: {"queue": stage} for stage in STAGES},
        "task_default_queue": STAGES[0],
        # a gateway must answer 503 quickly when Redis is down, not retry for seconds
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0.1,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # workers keep reconnecting to Redis forever: they survive a Redis restart without being restarted
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # on connection loss, cancel running acks_late tasks so they are redelivered (Celery 6's default)
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
    }


def create_celery(settings: Settings) -> Celery:
    """The Celery app for ``settings`` with the three tasks registered (each bound to its stage)."""
    app = Celery("emoticon", set_as_current=False)
    app.conf.update(celery_config(settings))
    for stage in STAGES:
        app.task(name=TASK_NAMES[stage], bind=True, shared=False)(_make_task_body(stage, settings))
    return app


def _make_task_body(stage: Stage, settings: Settings) -> Callable[..., dict[str, Any]]:
    def body(task: Any, job_id: str) -> dict[str, Any]:
        try:
            ctx = stage_context(stage, settings)
        except EmoticonError as exc:  # the models of this stage cannot be loaded (ModelError): fail the job
            fail_without_models(stage, job_id, settings, exc)
            raise Ignore() from exc
        try:
            summary = run_stage(stage, job_id, ctx)
        except ServiceUnavailable as exc:
            log.warning("store unavailable; retrying", extra={"job_id": job_id, "stage": stage})
            raise task.retry(exc=exc, countdown=STORE_RETRY_COUNTDOWN_S, max_retries=STORE_RETRY_MAX) from exc
        if summary is None:
            raise Ignore()  # stops the chain: the next stage is not sent
        return {"job_id": job_id, "stage": stage, **summary}

    body.__name__ = f"{stage}_task"
    return body


def fail_without_models(stage: Stage, job_id: str, settings: Settings, exc: EmoticonError) -> None:
    log.error(
        "stage unusable", extra={"job_id": job_id, "stage": stage, "code": exc.code, "error": exc.message}
    )
    ctx = StageContext(settings=settings, store=RedisJobStore(settings))
    job = ctx.store.load_job(job_id)
    if job is not None and job.status not in (JobStatus.done, JobStatus.failed):
        mark_failed(job, ctx, exc.code, exc.message)


def job_chain(app: Celery, job_id: str) -> Signature:
    """detect → classify → compose, each on its own queue; immutable signatures carry only the job id."""
    return chain(*(app.signature(TASK_NAMES[stage], args=(job_id,), immutable=True) for stage in STAGES))


def send_job(app: Celery, job_id: str) -> None:
    """Publish the chain of ``job_id``; a broker that does not answer raises ``ServiceUnavailable``."""
    try:
        job_chain(app, job_id).apply_async()
    except (OperationalError, redis.RedisError, OSError) as exc:
        raise ServiceUnavailable(f"the broker did not accept the job: {exc}") from exc


def queue_depths(settings: Settings, client: redis.Redis) -> dict[str, int]:
    """Messages waiting (not yet delivered) in each stage's queue."""
    pipe = client.pipeline(transaction=False)
    for stage in STAGES:
        pipe.llen(queue_key(settings, stage))
    return dict(zip(STAGES, (int(n) for n in pipe.execute()), strict=True))


def active_workers(app: Celery, timeout_s: float = 1.0) -> dict[str, list[str]]:
    """Workers that answered a broadcast within ``timeout_s``, by the stage queue they consume."""
    replies = app.control.inspect(timeout=timeout_s).active_queues() or {}
    by_stage: dict[str, list[str]] = {stage: [] for stage in STAGES}
    for node, queues in replies.items():
        for queue in queues or []:
            if queue.get("name") in by_stage:
                by_stage[queue["name"]].append(node)
    return by_stage


# ---------------------------------------------------------------------------------------------------------------
# Worker processes

_contexts: dict[Stage, StageContext] = {}
_worker_stage: tuple[Stage, Settings] | None = None


def stage_context(stage: Stage, settings: Settings) -> StageContext:
    """This process's context for ``stage``: created (store connection, models loaded) on first use only."""
    ctx = _contexts.get(stage)
    if ctx is None:
        t0 = time.perf_counter()
        ctx = StageContext(
            settings=settings, store=RedisJobStore(settings), **load_stage_models(stage, settings)
        )
        _contexts[stage] = ctx
        log.info("stage ready", extra={"stage": stage, "load_ms": round((time.perf_counter() - t0) * 1000)})
    return ctx


@signals.worker_process_init.connect
def _load_models_in_child(**_: Any) -> None:
    """Each pool process loads its stage's models before taking its first task (not in the parent: no fork of
    onnxruntime sessions). A failure is logged; the first task then fails the job with the typed error."""
    if _worker_stage is None:
        return
    stage, settings = _worker_stage
    try:
        stage_context(stage, settings)
    except Exception:
        log.exception("loading the stage failed", extra={"stage": stage})


def worker_node_name(stage: Stage) -> str:
    return f"{stage}-{os.getpid()}@{socket.gethostname()}"


def start_worker(stage: str, settings: Settings) -> None:
    """Run a worker consuming only ``stage``'s queue, until it is stopped (blocks).

    Prefork pool with one child: the time limits are enforced only by prefork (the solo pool ignores them), and
    when the child is killed (OOM, SIGKILL) the parent rejects its message back onto the queue
    (``task_reject_on_worker_lost``) and forks a fresh child, which loads the models again. If the whole worker
    is killed, the message comes back after ``broker_visibility_timeout_s`` to any worker of that stage.
    """
    if stage not in STAGES:
        raise InvalidRequest(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    global _worker_stage
    _worker_stage = (stage, settings)  # type: ignore[assignment]
    app = create_celery(settings)
    app.worker_main(
        [
            "worker",
            f"--queues={stage}",
            f"--hostname={worker_node_name(stage)}",  # type: ignore[arg-type]
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


def healthcheck(stage: str, settings: Settings, timeout_s: float = 3.0) -> bool:
    """True when a worker of ``stage`` running on this host answers (the container healthcheck)."""
    app = create_celery(settings)
    host = socket.gethostname()
    nodes = active_workers(app, timeout_s).get(stage, [])
    return any(node.endswith(f"@{host}") for node in nodes)


if __name__ == "__main__":
    # python -m services.worker healthcheck <stage>
    if len(sys.argv) == 3 and sys.argv[1] == "healthcheck":
        sys.exit(0 if healthcheck(sys.argv[2], get_settings()) else 1)
    print("usage: python -m services.worker healthcheck detector|classifier|composer", file=sys.stderr)
    sys.exit(2)
