"""The distributed mode's plumbing: the chain and its routing, the Celery settings that make redelivery safe,
and the stage steps (``run_stage``) with real models against a real store."""

from __future__ import annotations

import uuid

from stage_jobs import submit

from services.contracts import JobStatus, RenderOptions, StageHandoff
from services.settings import Settings
from services.worker import (
    STAGES,
    TASK_NAMES,
    StageContext,
    broker_key_prefix,
    celery_config,
    create_celery,
    job_chain,
    queue_key,
    run_stage,
)


def test_chain_sends_the_job_id_to_each_stage_queue_after_the_previous_result(redis_settings: Settings) -> None:
    app = create_celery(redis_settings)
    job_id = uuid.uuid4().hex
    tasks = job_chain(app, job_id).tasks
    assert [t.task for t in tasks] == [TASK_NAMES[s] for s in STAGES]
    # not immutable: Celery puts the previous task's return value (its handoff) before the job id
    assert all(not t.immutable and tuple(t.args) == (job_id,) and not t.kwargs for t in tasks)
    routed = [app.amqp.router.route({}, t.task)["queue"].name for t in tasks]
    assert routed == list(STAGES)
    assert set(app.tasks) >= set(TASK_NAMES.values())


def test_celery_settings_follow_the_service_settings(redis_settings: Settings) -> None:
    settings = redis_settings.model_copy(
        update={"task_soft_time_limit_s": 7, "task_hard_time_limit_s": 9, "broker_visibility_timeout_s": 20}
    )
    conf = celery_config(settings)
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert (conf["task_soft_time_limit"], conf["task_time_limit"]) == (7, 9)
    assert conf["broker_transport_options"]["visibility_timeout"] == 20
    assert conf["result_expires"] == settings.job_ttl_s
    assert broker_key_prefix(settings).startswith(f"{settings.key_prefix}:")
    assert queue_key(settings, "classifier") == f"{broker_key_prefix(settings)}classifier"


def test_default_visibility_timeout_exceeds_the_hard_time_limit() -> None:
    defaults = Settings()
    assert (
        defaults.broker_visibility_timeout_s
        > defaults.task_hard_time_limit_s
        > defaults.task_soft_time_limit_s
    )


def run_chain(job_id: str, context: StageContext) -> list[StageHandoff | None]:
    """The three stages in turn, each handed what the one before it returned (as the Celery chain does, through
    the JSON of its messages)."""
    handoffs: list[StageHandoff | None] = []
    handoff = None
    for stage in STAGES:
        handoff = run_stage(stage, job_id, context, handoff)
        handoffs.append(handoff)
        if handoff is not None:
            handoff = StageHandoff.model_validate_json(handoff.model_dump_json())
    return handoffs


def test_three_steps_finish_the_job_and_clean_up(context: StageContext, astronaut_jpeg: bytes) -> None:
    job = submit(context, astronaut_jpeg, RenderOptions(size=64, tone="medium"))
    detected, classified, composed = run_chain(job.id, context)
    assert len(detected.boxes) == 1 and detected.attributes is None and set(detected.timings_ms) == {"detector"}
    assert classified.boxes == detected.boxes and len(classified.attributes) == 1
    assert set(composed.timings_ms) == set(STAGES)
    done = context.store.load_job(job.id)
    assert done.status == JobStatus.done and done.stage is None and done.error is None
    assert len(done.result.faces) == 1 and done.result.image.width == 512
    assert set(done.result.timings_ms) == set(STAGES)
    for path in ("faces/0.svg", "overlay.png"):
        assert context.store.load_file(job.id, path), path
    assert context.store.load_file(job.id, "faces/0.png") is None, "face PNGs are drawn on their first GET"
    # intermediates are gone once the job is done
    assert context.store.load_upload(job.id) is None
    assert context.store.load_array(job.id, "bgr") is None
    # a redelivered message for a finished job does nothing
    assert run_stage("detector", job.id, context) is None
    assert context.store.load_job(job.id) == done


def test_rerunning_a_step_hands_over_the_same_and_overwrites_the_same_keys(
    context: StageContext, astronaut_jpeg: bytes
) -> None:
    job = submit(context, astronaut_jpeg)
    first = run_stage("detector", job.id, context)
    image = context.store.load_array(job.id, "bgr")
    again = run_stage("detector", job.id, context)
    assert again.boxes == first.boxes and again.image == first.image
    assert (context.store.load_array(job.id, "bgr") == image).all()
    assert context.store.load_job(job.id).stage == "detector"
    # a redelivered classifier message carries the same handoff: same attributes
    assert run_stage("classifier", job.id, context, first).attributes == run_stage(
        "classifier", job.id, context, again
    ).attributes


def test_a_typed_error_fails_the_job_with_its_code(context: StageContext, astronaut_jpeg: bytes) -> None:
    job = submit(
        context, astronaut_jpeg[: len(astronaut_jpeg) // 3]
    )  # truncated: the gateway would refuse it
    assert run_stage("detector", job.id, context) is None
    failed = context.store.load_job(job.id)
    assert failed.status == JobStatus.failed and failed.stage == "detector"
    assert failed.error.code == "invalid_image" and failed.error.message
    assert run_stage("classifier", job.id, context) is None  # the chain would have stopped; a stray stage too


def test_a_missing_decoded_image_fails_the_job_as_expired(context: StageContext, astronaut_jpeg: bytes) -> None:
    job = submit(context, astronaut_jpeg)
    detected = run_stage("detector", job.id, context)
    context.store.delete([context.store.array_key(job.id, "bgr")])  # as if it expired
    assert run_stage("classifier", job.id, context, detected) is None
    assert context.store.load_job(job.id).error.code == "job_expired"


def test_a_stage_sent_no_handoff_fails_the_job(context: StageContext, astronaut_jpeg: bytes) -> None:
    job = submit(context, astronaut_jpeg)
    assert run_stage("classifier", job.id, context) is None  # detect never ran: nothing handed over
    failed = context.store.load_job(job.id)
    assert failed.error.code == "internal_error" and "boxes" in failed.error.message
    assert context.store.load_upload(job.id) is None


def test_unknown_job_is_skipped(context: StageContext) -> None:
    assert run_stage("detector", uuid.uuid4().hex, context) is None
