"""Batches: many files in one request, one job per file, progress read from the jobs.

A batch is stored once (``{p}:batch:{id}``, ``BatchState``: its files in upload order, each with its job id or
the error that refused it at submission) and expires with its jobs. Whoever finishes a job of a batch (a
worker, or the embedded runner) adds the job id to ``{p}:batch:{id}:finished``; the add that completes the set
is the batch's completion, and it happens exactly once (a redelivered message adds nothing), which is when the
batch's webhook is sent.

The views (``batch_view``, ``result_line``) are pure functions of the batch and its jobs' states.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.schemas import (
    BatchItemLinks,
    BatchItemView,
    BatchView,
    batch_links,
    job_path,
)
from services.contracts import (
    FINISHED,
    BatchCounts,
    BatchItem,
    BatchResultLine,
    BatchState,
    BatchStatus,
    ErrorInfo,
    JobState,
    JobStatus,
)
from services.store import JobStore

GONE = ErrorInfo(code="not_found", message="the job expired or was deleted")


def batch_key(store: JobStore, batch_id: str) -> str:
    return f"{store.prefix}:batch:{batch_id}"


def finished_key(store: JobStore, batch_id: str) -> str:
    return f"{batch_key(store, batch_id)}:finished"


def expires_at(store: JobStore, batch: BatchState) -> float:
    return batch.created_at + store.ttl_s


def save_batch(store: JobStore, batch: BatchState) -> None:
    store.put(batch_key(store, batch.id), batch.model_dump_json().encode(), expires_at(store, batch))


def load_batch(store: JobStore, batch_id: str) -> BatchState | None:
    data = store.get(batch_key(store, batch_id))
    return None if data is None else BatchState.model_validate_json(data)


def delete_batch(store: JobStore, batch_id: str) -> None:
    store.delete([batch_key(store, batch_id), finished_key(store, batch_id)])


def job_count(batch: BatchState) -> int:
    return sum(1 for item in batch.items if item.job_id is not None)


def record_finished(store: JobStore, batch: BatchState, job_id: str) -> bool:
    """Count ``job_id`` of ``batch`` as finished; True exactly once: for the add that finished the batch."""
    added, size = store.add_member(finished_key(store, batch.id), job_id, expires_at(store, batch))
    return added and size == job_count(batch)


def load_jobs(store: JobStore, batch: BatchState) -> list[JobState | None]:
    """The state of each item's job, in item order (None: refused at submission, expired or deleted)."""
    return [store.load_job(item.job_id) if item.job_id else None for item in batch.items]


def item_status(item: BatchItem, job: JobState | None) -> tuple[JobStatus, ErrorInfo | None]:
    if item.error is not None:
        return JobStatus.failed, item.error
    if job is None:
        return JobStatus.failed, GONE
    return job.status, job.error


def batch_counts(batch: BatchState, jobs: Iterable[JobState | None]) -> BatchCounts:
    counts = BatchCounts()
    for item, job in zip(batch.items, jobs, strict=True):
        status, _ = item_status(item, job)
        setattr(counts, status.value, getattr(counts, status.value) + 1)
    return counts


def batch_status(counts: BatchCounts, refused: int = 0) -> BatchStatus:
    """done once every item is done or failed; queued while no job started (``refused`` items, failed at
    submission, do not count as started); running in between."""
    if counts.queued == 0 and counts.running == 0:
        return "done"
    if counts.running == 0 and counts.done == 0 and counts.failed == refused:
        return "queued"
    return "running"


def batch_view(batch: BatchState, jobs: list[JobState | None]) -> BatchView:
    items = []
    for item, job in zip(batch.items, jobs, strict=True):
        status, error = item_status(item, job)
        items.append(
            BatchItemView(
                index=item.index,
                filename=item.filename,
                job_id=item.job_id,
                status=status,
                stage=job.stage if job is not None and status == JobStatus.running else None,
                error=error,
                links=BatchItemLinks(job=job_path(item.job_id) if item.job_id else None),
            )
        )
    counts = batch_counts(batch, jobs)
    refused = sum(1 for item in batch.items if item.error is not None)
    return BatchView(
        id=batch.id,
        status=batch_status(counts, refused),
        total=len(batch.items),
        counts=counts,
        links=batch_links(batch.id),
        created_at=batch.created_at,
        options=batch.options,
        callback_url=batch.callback_url,
        items=items,
    )


def result_line(item: BatchItem, job: JobState | None) -> BatchResultLine | None:
    """The item's line of the results stream, or None while its job is queued or running."""
    status, error = item_status(item, job)
    if status not in FINISHED:
        return None
    return BatchResultLine(
        index=item.index,
        filename=item.filename,
        job_id=item.job_id,
        status=status,
        result=job.result if job is not None and status == JobStatus.done else None,
        error=error,
    )
