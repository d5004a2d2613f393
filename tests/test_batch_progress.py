"""services.batches: progress and result lines as pure functions of a batch and its jobs, and the completion
count in both stores (real Redis and the in-memory one) — counted once per job, finished exactly once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from services import batches
from services.contracts import (
    BatchCounts,
    BatchItem,
    BatchState,
    ErrorInfo,
    ImageInfo,
    ImageResult,
    JobState,
    JobStatus,
)
from services.settings import Settings
from services.store import JobStore, MemoryJobStore, RedisJobStore

NOW = 1_700_000_000.0


def job(job_id: str, status: JobStatus, **extra: object) -> JobState:
    return JobState(id=job_id, status=status, created_at=NOW, updated_at=NOW, batch_id="b" * 32, **extra)


def done_result() -> ImageResult:
    info = ImageInfo(width=4, height=4, format="png", original_width=4, original_height=4, sha256="0" * 64)
    return ImageResult(image=info, faces=[])


@pytest.fixture
def batch() -> BatchState:
    items = [
        BatchItem(index=0, filename="a.jpg", job_id="1" * 32),
        BatchItem(index=1, filename="empty.jpg", error=ErrorInfo(code="empty_upload", message="empty")),
        BatchItem(index=2, filename="b.jpg", job_id="2" * 32),
        BatchItem(index=3, filename="c.jpg", job_id="3" * 32),
    ]
    return BatchState(id="b" * 32, created_at=NOW, items=items)


def test_counts_status_and_links_follow_the_jobs(batch: BatchState) -> None:
    jobs = [
        job("1" * 32, JobStatus.queued),
        None,
        job("2" * 32, JobStatus.queued),
        job("3" * 32, JobStatus.queued),
    ]
    view = batches.batch_view(batch, jobs)
    assert view.counts == BatchCounts(queued=3, failed=1) and view.status == "queued" and view.total == 4
    assert view.items[1].status == JobStatus.failed and view.items[1].error.code == "empty_upload"
    assert view.items[1].links.job is None and view.items[0].links.job == f"/v1/jobs/{'1' * 32}"
    assert view.links.results == f"/v1/batches/{'b' * 32}/results"

    jobs[0] = job("1" * 32, JobStatus.running, stage="classifier")
    view = batches.batch_view(batch, jobs)
    assert view.status == "running" and view.items[0].stage == "classifier"

    jobs = [job("1" * 32, JobStatus.done, result=done_result()), None, None, job("3" * 32, JobStatus.failed)]
    view = batches.batch_view(batch, jobs)
    # item 2's job is gone (expired or deleted): it counts as failed, so the batch is done
    assert view.counts == BatchCounts(done=1, failed=3) and view.status == "done"
    assert view.items[2].error.code == "not_found"


def test_result_lines_exist_for_finished_items_only(batch: BatchState) -> None:
    assert batches.result_line(batch.items[0], job("1" * 32, JobStatus.running)) is None
    line = batches.result_line(batch.items[0], job("1" * 32, JobStatus.done, result=done_result()))
    assert line.status == JobStatus.done and line.result is not None and line.error is None
    refused = batches.result_line(batch.items[1], None)
    assert (
        refused.status == JobStatus.failed and refused.error.code == "empty_upload" and refused.job_id is None
    )
    failed = job("3" * 32, JobStatus.failed, error=ErrorInfo(code="invalid_image", message="not an image"))
    line = batches.result_line(batch.items[3], failed)
    assert line.result is None and line.error.code == "invalid_image" and line.filename == "c.jpg"


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> JobStore:
    if request.param == "memory":
        return MemoryJobStore(Settings(job_ttl_s=60))
    return RedisJobStore(request.getfixturevalue("redis_settings"))


def test_a_batch_finishes_exactly_once_however_often_its_jobs_are_reported(store: JobStore) -> None:
    items = [BatchItem(index=i, filename=f"{i}.jpg", job_id=f"{i:032d}") for i in range(40)]
    batch = BatchState(id="c" * 32, created_at=time.time(), items=items)
    batches.save_batch(store, batch)
    assert batches.load_batch(store, batch.id) == batch
    reports = [item.job_id for item in items] * 3  # every job reported three times (redelivered messages)
    with ThreadPoolExecutor(8) as pool:
        finishes = list(pool.map(lambda job_id: batches.record_finished(store, batch, job_id), reports))
    assert finishes.count(True) == 1
    assert store.expiry_of(batches.finished_key(store, batch.id)) == pytest.approx(
        batch.created_at + 60, abs=1
    )
    batches.delete_batch(store, batch.id)
    assert batches.load_batch(store, batch.id) is None
