"""A job's data over its life, through the plain stage functions (real models, real stores): the photo goes as
soon as the job is done or failed, a deleted job never comes back, a poison input fails after N deaths."""

from __future__ import annotations

import pytest
from stage_jobs import submit

from services.contracts import JobStatus, RenderOptions
from services.renders import job_file
from services.settings import Settings
from services.store import MemoryJobStore, result_file_paths
from services.worker import (
    STAGES,
    StageContext,
    admit_run,
    end_run,
    run_stage,
    workers_by_model_state,
)


def photo_and_intermediates_gone(ctx: StageContext, job_id: str) -> bool:
    store = ctx.store
    return (
        store.load_upload(job_id) is None
        and store.load_array(job_id, "bgr") is None
        and store.expiry_of(store.attempts_key(job_id)) is None
    )


@pytest.mark.parametrize("renders", ["all", "svg"])
def test_a_done_job_keeps_exactly_its_renders(
    context: StageContext, astronaut_jpeg: bytes, renders: str
) -> None:
    job = submit(context, astronaut_jpeg, RenderOptions(size=32, renders=renders))
    handoff = None
    for stage in STAGES:
        handoff = run_stage(stage, job.id, context, handoff)
    done = context.store.load_job(job.id)
    assert done.status == JobStatus.done
    assert photo_and_intermediates_gone(context, job.id)
    paths = result_file_paths(done)
    assert len(paths) == (3 if renders == "all" else 1)
    on_request = [path for path in paths if path.startswith("faces/") and path.endswith(".png")]
    assert len(on_request) == (1 if renders == "all" else 0)
    assert all(context.store.load_file(job.id, path) for path in paths if path not in on_request)
    # face PNGs are drawn when first asked for, then kept like the rest
    assert all(context.store.load_file(job.id, path) is None for path in on_request)
    assert all(job_file(context.store, done, path) for path in on_request)
    assert all(context.store.load_file(job.id, path) for path in paths)
    # nothing else of the job is left
    if isinstance(context.store, MemoryJobStore):
        assert len(context.store) == 1 + len(paths)


def test_a_failed_job_drops_the_photo_at_once(context: StageContext, astronaut_jpeg: bytes) -> None:
    job = submit(context, astronaut_jpeg[: len(astronaut_jpeg) // 2])  # truncated: the detector fails it
    assert run_stage("detector", job.id, context) is None
    assert context.store.load_job(job.id).status == JobStatus.failed
    assert photo_and_intermediates_gone(context, job.id)


def test_a_job_deleted_between_stages_stops_and_stays_deleted(
    context: StageContext, astronaut_jpeg: bytes
) -> None:
    job = submit(context, astronaut_jpeg)
    detected = run_stage("detector", job.id, context)
    assert detected is not None
    context.store.delete_job(job.id)
    assert run_stage("classifier", job.id, context, detected) is None
    assert run_stage("composer", job.id, context, detected) is None
    assert context.store.load_job(job.id) is None
    assert photo_and_intermediates_gone(context, job.id)


def test_runs_that_ended_never_count_as_crashes(context: StageContext, astronaut_jpeg: bytes) -> None:
    job = submit(context, astronaut_jpeg)
    for _ in range(5):
        assert admit_run("detector", job.id, context)
        end_run(job.id, context)
    assert context.store.load_job(job.id).status == JobStatus.queued


def test_a_poison_input_fails_after_max_stage_crashes_deaths(
    context: StageContext, astronaut_jpeg: bytes
) -> None:
    job = submit(context, astronaut_jpeg)
    limit = context.settings.max_stage_crashes
    # each admitted run that never reaches end_run is a process that died on the job
    assert [admit_run("detector", job.id, context) for _ in range(limit + 1)] == [True] * limit + [False]
    failed = context.store.load_job(job.id)
    assert failed.status == JobStatus.failed and failed.error.code == "worker_crashed"
    assert f"died {limit} times" in failed.error.message
    assert photo_and_intermediates_gone(context, job.id)
    assert admit_run("detector", job.id, context)  # finished: passes, and run_stage skips it
    assert run_stage("detector", job.id, context) is None


def test_the_crash_limit_is_a_setting(redis_settings: Settings, astronaut_jpeg: bytes) -> None:
    ctx = StageContext(
        settings=redis_settings.model_copy(update={"max_stage_crashes": 1}),
        store=MemoryJobStore(redis_settings),
    )
    job = submit(ctx, astronaut_jpeg)
    assert admit_run("detector", job.id, ctx)
    assert not admit_run("detector", job.id, ctx)


def test_workers_are_counted_per_stage_and_model_state() -> None:
    states = {
        "detector-1@a": {"stage": "detector", "models": "loaded"},
        "detector-2@b": {"stage": "detector", "models": "loading"},
        "classifier-3@a": {"stage": "classifier", "models": "failed"},
        "composer-4@a": {"stage": "composer", "models": "loaded"},
        "composer-5@c": {"stage": "composer", "models": "loaded"},
        "other@x": {"stage": "", "models": "unknown"},
    }
    assert workers_by_model_state(states) == {
        "detector": {"loaded": 1, "loading": 1},
        "classifier": {"failed": 1},
        "composer": {"loaded": 2},
    }
    assert workers_by_model_state({}) == {"detector": {}, "classifier": {}, "composer": {}}
