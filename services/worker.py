"""The distributed mode: one Celery app, one queue per stage, a job = the chain detect → classify → compose.

Each message carries the job id and what the stages before it found (``StageHandoff``: image info, boxes,
attributes, timings; a few KB of JSON, the previous task's return value, which Celery puts first in the next
task's arguments). The bulky data travels through the job store (``services.store``) under keys that expire
with the job: the upload, the decoded image (``arr:{id}:bgr``, an HxWx3 uint8 BGR ``.npy``) and the rendered
files. A redelivered or retried message carries the same handoff, and each step overwrites the same output keys,
so running a step twice gives the same result.

``run_stage`` is the plain function behind each task; the embedded gateway calls it too, with an in-memory
store, so both modes update job state the same way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import redis
from celery import Celery, chain, signals
from celery.canvas import Signature
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded
from celery.worker.control import inspect_command
from kombu.exceptions import OperationalError

from services.contracts import FINISHED, ErrorInfo, JobState, JobStatus, StageHandoff
from services.errors import EmoticonError, InvalidRequest, ModelError, NotFound, ServiceUnavailable
from services.faults import crash_if_chosen
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
# Webhooks are sent by a task of their own on their own queue, consumed by the composer workers (the last stage:
# light on CPU), and retried there with a countdown, so no worker sleeps through a backoff.
WEBHOOK_TASK = "emoticon.webhook"
WEBHOOK_QUEUE = "webhooks"
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
    on_finished: Callable[[JobState], None] | None = None  # services.notify.Notifier.job_finished


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


def _detect(job: JobState, ctx: StageContext, handoff: StageHandoff) -> StageHandoff:
    from services.pipeline import detect_stage

    data = ctx.store.load_upload(job.id)
    if data is None:
        raise NotFound(f"the upload of job {job.id} has expired", code="job_expired")
    t0 = time.perf_counter()
    decoded, boxes = detect_stage(data, ctx.detector, ctx.settings)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    ctx.store.save_array(job, "bgr", decoded.bgr)
    return StageHandoff(image=decoded.info, boxes=boxes, timings_ms={"detector": ms})


def _load_image(job_id: str, ctx: StageContext) -> np.ndarray:
    """The decoded photo the detector stored (HxWx3 uint8 BGR); ``job_expired`` once it is gone."""
    bgr = ctx.store.load_array(job_id, "bgr")
    if bgr is None:
        raise NotFound(f"the decoded image of job {job_id} has expired", code="job_expired")
    return bgr


def _handed(handoff: StageHandoff, stage: Stage, *fields: str) -> list[Any]:
    """The ``fields`` of ``handoff``; a stage sent without them (a chain built wrongly) fails the job."""
    values = [getattr(handoff, name) for name in fields]
    missing = [name for name, value in zip(fields, values, strict=True) if value is None]
    if missing:
        raise EmoticonError(
            f"the {stage} stage was sent no {', '.join(missing)} by the stages before it", code="internal_error"
        )
    return values


def _classify(job: JobState, ctx: StageContext, handoff: StageHandoff) -> StageHandoff:
    from services.pipeline import classify_stage

    (boxes,) = _handed(handoff, "classifier", "boxes")
    bgr = _load_image(job.id, ctx)
    t0 = time.perf_counter()
    attributes = classify_stage(bgr, boxes, ctx.classifier)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    return handoff.model_copy(
        update={"attributes": attributes, "timings_ms": {**handoff.timings_ms, "classifier": ms}}
    )


def _compose(job: JobState, ctx: StageContext, handoff: StageHandoff) -> StageHandoff:
    from services.pipeline import compose_stage

    image, boxes, attributes = _handed(handoff, "composer", "image", "boxes", "attributes")
    bgr = _load_image(job.id, ctx)
    t0 = time.perf_counter()
    composed = compose_stage(bgr, image, boxes, attributes, job.options, dict(handoff.timings_ms))
    ms = round((time.perf_counter() - t0) * 1000, 2)
    composed.result.timings_ms["composer"] = ms
    done = job.model_copy(
        update={"status": JobStatus.done, "stage": None, "result": composed.result, "updated_at": time.time()}
    )
    # the renders, the done state and dropping the photo in one round trip; a job deleted or evicted while it
    # ran keeps none of it
    if not ctx.store.finish_job(done, composed.files):
        raise NotFound(f"job {job.id} was deleted while it ran", code="job_deleted")
    job_finished(done, ctx)
    return handoff.model_copy(update={"timings_ms": composed.result.timings_ms})


STEPS: dict[Stage, Callable[[JobState, StageContext, StageHandoff], StageHandoff]] = {
    "detector": _detect,
    "classifier": _classify,
    "composer": _compose,
}


def mark_failed(job: JobState, ctx: StageContext, code: str, message: str) -> None:
    """Fail the job with ``code`` and drop its upload and intermediates; a job deleted meanwhile stays gone."""
    failed = job.model_copy(
        update={
            "status": JobStatus.failed,
            "error": ErrorInfo(code=code, message=message),
            "updated_at": time.time(),
        }
    )
    if ctx.store.finish_job(failed):
        job_finished(failed, ctx)


def job_finished(job: JobState, ctx: StageContext) -> None:
    """The job reached done or failed: its webhook and its batch's progress (``ctx.on_finished``)."""
    if ctx.on_finished is not None:
        ctx.on_finished(job)


def run_stage(
    stage: Stage, job_id: str, ctx: StageContext, handoff: StageHandoff | None = None
) -> StageHandoff | None:
    """Run one stage of one job: mark it running at ``stage``, call the step with ``handoff`` (what the stages
    before it returned; none for the detector), record its latency.

    Returns the handoff for the next stage (the composer's: the final timings), or None when the chain must
    stop: the job is unknown or expired, already finished (a redelivered message), or failed here. A typed ``EmoticonError`` marks the job
    failed with its code and message; any other exception is logged, marks it failed with ``internal_error`` and
    is re-raised. ``ServiceUnavailable`` (the store does not answer) is re-raised untouched: the job cannot be
    marked, and the caller may retry.
    """
    job = ctx.store.load_job(job_id)
    if job is None:
        log.warning("job unknown or expired; stage skipped", extra={"job_id": job_id, "stage": stage})
        return None
    if job.status in FINISHED:
        log.info("job already finished; stage skipped", extra={"job_id": job_id, "stage": stage})
        return None
    job = job.model_copy(update={"status": JobStatus.running, "stage": stage, "updated_at": time.time()})
    if not ctx.store.update_job(job):
        log.info("job deleted; stage skipped", extra={"job_id": job_id, "stage": stage})
        return None
    t0 = time.perf_counter()
    try:
        handed = STEPS[stage](job, ctx, handoff or StageHandoff())
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
    except Exception:
        log.exception("stage crashed", extra={"job_id": job_id, "stage": stage})
        mark_failed(
            job, ctx, "internal_error", f"the {stage} stage failed unexpectedly; the server logged why"
        )
        raise
    seconds = time.perf_counter() - t0
    ctx.store.record_stage(stage, seconds)
    log.info("stage done", extra={"job_id": job_id, "stage": stage, "duration_ms": round(seconds * 1000, 2)})
    return handed


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
        # nobody reads a task's return value from the backend (job state lives in the job store; a chain hands
        # it to the next task in that task's message), so no task writes one: two Redis commands less per stage
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_hard_time_limit_s,
        "task_routes": {
            **{TASK_NAMES[stage]: {"queue": stage} for stage in STAGES},
            WEBHOOK_TASK: {"queue": WEBHOOK_QUEUE},
        },
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
    app.task(name=WEBHOOK_TASK, bind=True, shared=False)(_make_webhook_body(settings))
    return app


def _make_webhook_body(settings: Settings) -> Callable[..., dict[str, Any]]:
    def webhook_task(task: Any, message: dict[str, Any]) -> dict[str, Any]:
        from services.webhooks import Outcome, Webhook, attempt_delivery, backoff_s, log_attempt

        hook = Webhook.from_message(message)
        attempt = task.request.retries + 1
        result = attempt_delivery(hook, settings)
        log_attempt(hook, attempt, result)
        if result.outcome is Outcome.retry and attempt < settings.webhook_max_attempts:
            raise task.retry(
                countdown=backoff_s(attempt, settings), max_retries=settings.webhook_max_attempts - 1
            )
        return {"delivery_id": hook.delivery_id, "outcome": result.outcome.value, "attempts": attempt}

    return webhook_task


def celery_webhook_sender(settings: Settings) -> Callable[[Any], None]:
    """Send a ``services.webhooks.Webhook`` as a task on the webhooks queue (its app is made on first use)."""
    apps: list[Celery] = []

    def send(hook: Any) -> None:
        if not apps:
            apps.append(create_celery(settings))
        try:
            apps[0].send_task(WEBHOOK_TASK, args=(hook.to_message(),))
        except (OperationalError, redis.RedisError, OSError) as exc:
            raise ServiceUnavailable(f"the broker did not accept the webhook: {exc}") from exc

    return send


def notifier_for(settings: Settings, store: JobStore) -> Callable[[JobState], None]:
    """A worker's ``on_finished``: webhooks as Celery tasks, batch progress in the store."""
    from services.notify import Notifier

    return Notifier(store, celery_webhook_sender(settings)).job_finished


def worker_queues(stage: Stage) -> tuple[str, ...]:
    """The queues a worker of ``stage`` consumes: its own; the composer takes the webhooks too."""
    return (stage, WEBHOOK_QUEUE) if stage == "composer" else (stage,)


def _make_task_body(stage: Stage, settings: Settings) -> Callable[..., dict[str, Any]]:
    def body(task: Any, *args: Any) -> dict[str, Any]:
        # (job_id,) for the detector; (the previous stage's return value, job_id) for the stages after it
        *previous, job_id = args
        handoff = StageHandoff.model_validate(previous[0]) if previous else None
        try:
            ctx = stage_context(stage, settings)
        except EmoticonError as exc:
            # This process cannot load its models, so its worker is shutting down (``_load_models_in_child``):
            # the message goes back to the queue for a worker that can.
            log.error("stage unusable; job handed back", extra={"job_id": job_id, "stage": stage})
            raise Reject(exc.message, requeue=True) from exc
        try:
            try:
                if not admit_run(stage, job_id, ctx):
                    raise Ignore()  # failed with worker_crashed: the chain stops
                crash_if_chosen(stage, job_id, ctx.store, settings)
                handed = run_stage(stage, job_id, ctx, handoff)
            finally:
                end_run(job_id, ctx)
        except ServiceUnavailable as exc:
            log.warning("store unavailable; retrying", extra={"job_id": job_id, "stage": stage})
            raise task.retry(exc=exc, countdown=STORE_RETRY_COUNTDOWN_S, max_retries=STORE_RETRY_MAX) from exc
        if handed is None:
            raise Ignore()  # stops the chain: the next stage is not sent
        return handed.model_dump(mode="json")  # the next stage's first argument

    body.__name__ = f"{stage}_task"
    return body


def admit_run(stage: Stage, job_id: str, ctx: StageContext) -> bool:
    """Count this run of ``stage`` for ``job_id`` and say whether it may go on.

    With ``acks_late`` + ``task_reject_on_worker_lost`` a message whose process died is delivered again. Runs
    that start and never reach ``end_run`` are such deaths; once ``settings.max_stage_crashes`` of them
    happened, the input is taken to be poison: the job is marked failed (``worker_crashed``) and False is
    returned, instead of letting it kill every worker in turn. Unknown or finished jobs pass (``run_stage``
    skips them)."""
    job = ctx.store.load_job(job_id)
    if job is None or job.status in FINISHED:
        return True
    deaths = ctx.store.start_attempt(job) - 1
    if deaths < ctx.settings.max_stage_crashes:
        if deaths:
            log.warning("job redelivered after its process died", extra={"job_id": job_id, "deaths": deaths})
        return True
    log.error(
        "poison input: the stage process died on it repeatedly", extra={"job_id": job_id, "stage": stage}
    )
    mark_failed(
        job,
        ctx,
        "worker_crashed",
        f"the {stage} stage's process died {deaths} times on this image (the limit is "
        f"{ctx.settings.max_stage_crashes}); it cannot be analysed",
    )
    return False


def end_run(job_id: str, ctx: StageContext) -> None:
    """The run ended (whatever its outcome) without its process dying: it is no crash."""
    try:
        ctx.store.end_attempt(job_id)
    except ServiceUnavailable:
        log.warning("could not clear the run counter", extra={"job_id": job_id})


def job_chain(app: Celery, job_id: str) -> Signature:
    """detect → classify → compose, each on its own queue, each sent the job id; Celery puts the previous
    task's return value (its ``StageHandoff`` as JSON) before it in the arguments of the next."""
    return chain(*(app.signature(TASK_NAMES[stage], args=(job_id,)) for stage in STAGES))


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


def worker_model_states(app: Celery, timeout_s: float = 1.0) -> dict[str, dict[str, str]]:
    """Every worker that answered within ``timeout_s``: node name -> ``{"stage", "models"}`` where models is
    ``loading``, ``loaded`` or ``failed`` (its pool process's models)."""
    replies = app.control.broadcast(MODELS_COMMAND, reply=True, timeout=timeout_s) or []
    return {node: reply for answer in replies for node, reply in answer.items() if isinstance(reply, dict)}


def workers_by_model_state(states: dict[str, dict[str, str]]) -> dict[str, dict[str, int]]:
    """``worker_model_states`` counted per stage and state: ``{"detector": {"loaded": 2, "loading": 1}, ...}``
    (every stage present, zero counts left out)."""
    counts: dict[str, dict[str, int]] = {stage: {} for stage in STAGES}
    for reply in states.values():
        stage, models = reply.get("stage"), reply.get("models", "unknown")
        if stage in counts:
            counts[stage][models] = counts[stage].get(models, 0) + 1
    return counts


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

# Whether this worker's pool process loaded its stage's models: written by the pool child, read by the main
# process (which answers the broker's control commands), through memory shared across the fork.
MODELS_LOADING, MODELS_LOADED, MODELS_FAILED = 0, 1, 2
MODEL_STATE_NAMES = {MODELS_LOADING: "loading", MODELS_LOADED: "loaded", MODELS_FAILED: "failed"}
MODELS_COMMAND = "emoticon_models"
_model_state: Any = None  # multiprocessing RawValue("i"), made by start_worker before the pool forks


def _set_model_state(value: int) -> None:
    if _model_state is not None:
        _model_state.value = value


@inspect_command(name=MODELS_COMMAND)
def _report_models(state: Any) -> dict[str, str]:
    """Answers ``broadcast(MODELS_COMMAND)`` in a worker's main process: its stage and its models' state."""
    if _worker_stage is None or _model_state is None:
        return {"stage": "", "models": "unknown"}
    return {"stage": _worker_stage[0], "models": MODEL_STATE_NAMES.get(_model_state.value, "unknown")}


def stage_context(stage: Stage, settings: Settings) -> StageContext:
    """This process's context for ``stage``: created (store connection, models loaded) on first use only."""
    ctx = _contexts.get(stage)
    if ctx is None:
        t0 = time.perf_counter()
        store = RedisJobStore(settings)
        ctx = StageContext(
            settings=settings,
            store=store,
            on_finished=notifier_for(settings, store),
            **load_stage_models(stage, settings),
        )
        _contexts[stage] = ctx
        log.info("stage ready", extra={"stage": stage, "load_ms": round((time.perf_counter() - t0) * 1000)})
    return ctx


@signals.worker_process_init.connect
def _load_models_in_child(**_: Any) -> None:
    """Each pool process loads its stage's models before taking its first task (not in the parent: no fork of
    onnxruntime sessions). When they cannot be loaded it says so, marks the shared state failed and stops its
    worker (SIGTERM to the main process, which then exits non-zero: ``start_worker``)."""
    if _worker_stage is None:
        return
    stage, settings = _worker_stage
    _set_model_state(MODELS_LOADING)
    try:
        stage_context(stage, settings)
    except Exception as exc:
        typed = isinstance(exc, EmoticonError)  # a typed error says all; anything else gets its traceback
        reason = exc.message if typed else f"{type(exc).__name__}: {exc}"
        log.critical(
            "the %s worker cannot load its models, so it stops: %s", stage, reason, exc_info=not typed
        )
        _set_model_state(MODELS_FAILED)
        os.kill(os.getppid(), signal.SIGTERM)
        return
    _set_model_state(MODELS_LOADED)


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
        raise InvalidRequest(f"unknown stage {stage}; one of {', '.join(STAGES)}")
    global _worker_stage, _model_state
    _worker_stage = (stage, settings)  # type: ignore[assignment]
    _model_state = multiprocessing.RawValue("i", MODELS_LOADING)
    app = create_celery(settings)
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(worker_queues(stage))}",
            f"--hostname={worker_node_name(stage)}",  # type: ignore[arg-type]
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
    if _model_state.value == MODELS_FAILED:
        raise ModelError(
            f"the {stage} worker stopped: its models could not be loaded (the reason is logged above)"
        )


def healthcheck(stage: str, settings: Settings, timeout_s: float = 3.0) -> bool:
    """True when a worker of ``stage`` running on this host answers and has loaded its models (the container
    healthcheck)."""
    app = create_celery(settings)
    host = socket.gethostname()
    states = worker_model_states(app, timeout_s)
    return any(
        node.endswith(f"@{host}") and reply == {"stage": stage, "models": "loaded"}
        for node, reply in states.items()
    )


if __name__ == "__main__":
    # python -m services.worker healthcheck <stage>
    if len(sys.argv) == 3 and sys.argv[1] == "healthcheck":
        sys.exit(0 if healthcheck(sys.argv[2], get_settings()) else 1)
    print("usage: python -m services.worker healthcheck detector|classifier|composer", file=sys.stderr)
    sys.exit(2)
