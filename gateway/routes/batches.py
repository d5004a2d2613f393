"""``/v1/batches``: many photos in one multipart request, one job each; progress; results as JSON Lines."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from gateway.deps import RenderOptionsDep, RunnerDep, SettingsDep, StateDep, StoreDep
from gateway.routes.jobs import ERRORS, _submit_lock, check_queue_depth
from gateway.runners import JobRunner
from gateway.schemas import API_PREFIX, BatchCreated, BatchView, batch_path
from services import batches
from services.budget import job_footprint
from services.contracts import (
    BatchItem,
    BatchResultLine,
    BatchState,
    ErrorInfo,
    JobState,
    JobStatus,
    RenderOptions,
)
from services.errors import (
    EmoticonError,
    InvalidImage,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    StoreFull,
    UnsupportedMediaType,
)
from services.imaging import decoded_nbytes
from services.notify import Notifier
from services.settings import Settings
from services.store import JobStore
from services.webhooks import check_callback_url

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API_PREFIX}/batches", tags=["batches"])

BATCH_ID = re.compile(r"^[0-9a-f]{32}$")
FILES_FIELD = "files"
MAX_FILENAME = 255
RESULTS_POLL_S = 0.1

BATCH_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    FILES_FIELD: {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
                "required": [FILES_FIELD],
            }
        }
    },
    "required": True,
    "description": "the photos: one multipart part named `files` per image (JPEG, PNG, WebP or BMP)",
}


UploadedFile = tuple[str, bytes | EmoticonError]  # (file name, its bytes or why it was refused)


async def read_batch_files(request: Request, settings: Settings) -> list[UploadedFile]:
    """The ``files`` parts of a multipart body of at most ``settings.batch_max_bytes`` bytes and
    ``settings.batch_max_files`` files (413 beyond either). A part that is empty or over
    ``settings.max_upload_bytes`` is refused alone: it becomes a failed item, the others go on."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            f"a batch is a multipart/form-data body with one part named {FILES_FIELD!r} per image"
        )
    limit = settings.batch_max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the batch is larger than {limit} bytes", code="batch_too_large")

    async def limited() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"the batch is larger than {limit} bytes", code="batch_too_large")
            yield chunk

    parser = MultiPartParser(
        request.headers, limited(), max_files=settings.batch_max_files, max_fields=16, max_part_size=64 * 1024
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if exc.message.startswith("Too many files"):
            raise PayloadTooLarge(
                f"a batch holds at most {settings.batch_max_files} files", code="too_many_files"
            ) from None
        raise InvalidRequest(f"malformed multipart body: {exc.message}") from None
    try:
        files: list[UploadedFile] = []
        for index, part in enumerate(form.getlist(FILES_FIELD)):
            if not isinstance(part, UploadFile):
                raise InvalidRequest(f"the {FILES_FIELD!r} parts must be files")
            name = (part.filename or f"file-{index}")[:MAX_FILENAME]
            data = await part.read(settings.max_upload_bytes + 1)
            if not data:
                files.append((name, InvalidImage("the upload is empty", code="empty_upload")))
            elif len(data) > settings.max_upload_bytes:
                files.append(
                    (name, PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes} bytes"))
                )
            else:
                files.append((name, data))
    finally:
        await form.close()
    if not files:
        raise InvalidRequest(
            f"the batch has no files: send one multipart part named {FILES_FIELD!r} per image"
        )
    return files


def create_batch(
    files: list[UploadedFile],
    options: RenderOptions,
    callback_url: str | None,
    settings: Settings,
    store: JobStore,
    runner: JobRunner,
    notifier: Notifier | None,
) -> BatchState:
    """Store the batch, then a job per accepted file, then hand the jobs to the runner.

    The queue-depth check runs once for the whole batch (429 when the queue is already full); an accepted batch
    queues all its files. The batch is saved before any job can finish, so every finish is counted. Should the
    broker refuse a job half-way, that job and the rest fail with the broker's error; the batch still completes.
    """
    footprints = [
        0 if isinstance(data, EmoticonError) else job_footprint(len(data), decoded_nbytes(data, settings))
        for _, data in files
    ]
    with _submit_lock:
        check_queue_depth(settings, runner)
        now = time.time()
        batch_id = uuid.uuid4().hex
        items: list[BatchItem] = []
        jobs: list[tuple[JobState, bytes]] = []
        for index, ((name, data), footprint) in enumerate(zip(files, footprints, strict=True)):
            if isinstance(data, EmoticonError):
                error = ErrorInfo(code=data.code, message=data.message)
                items.append(BatchItem(index=index, filename=name, error=error))
                continue
            job_id = uuid.uuid4().hex
            try:
                store.reserve(job_id, footprint)  # the store's byte budget (services.budget)
            except (StoreFull, PayloadTooLarge) as exc:
                if isinstance(exc, StoreFull) and not jobs:
                    raise  # not one file fits: the whole batch is refused (503, Retry-After)
                error = ErrorInfo(code=exc.code, message=exc.message)
                items.append(BatchItem(index=index, filename=name, error=error))
                continue
            job = JobState(
                id=job_id,
                status=JobStatus.queued,
                created_at=now,
                updated_at=now,
                options=options,
                batch_id=batch_id,
            )
            items.append(BatchItem(index=index, filename=name, job_id=job.id))
            jobs.append((job, data))
        batch = BatchState(
            id=batch_id, created_at=now, options=options, callback_url=callback_url, items=items
        )
        try:
            batches.save_batch(store, batch)
            for job, data in jobs:
                store.save_job(job)
                store.save_upload(job, data)
        except EmoticonError:
            release_all([job for job, _ in jobs], store)
            raise
        for position, (job, _) in enumerate(jobs):
            try:
                runner.submit(job.id)
            except EmoticonError as exc:
                fail_unsent([j for j, _ in jobs[position:]], exc, store, notifier)
                break
    if not jobs and notifier is not None:
        notifier.batch_finished(batch)
    return batch


def release_all(jobs: list[JobState], store: JobStore) -> None:
    """Undo the reservations of jobs that were never stored (the store stopped answering half-way)."""
    for job in jobs:
        try:
            store.release(job.id)
        except EmoticonError:
            log.warning("could not release a refused job", extra={"job_id": job.id})


def fail_unsent(jobs: list[JobState], exc: EmoticonError, store: JobStore, notifier: Notifier | None) -> None:
    """The broker refused ``jobs``: each fails with its error (and counts as finished for its batch)."""
    for job in jobs:
        failed = job.model_copy(
            update={
                "status": JobStatus.failed,
                "error": ErrorInfo(code=exc.code, message=exc.message),
                "updated_at": time.time(),
            }
        )
        store.update_job(failed)
        store.delete([store.upload_key(job.id)])
        if notifier is not None:
            notifier.job_finished(failed)


def load_batch_or_404(store: JobStore, batch_id: str) -> BatchState:
    batch = batches.load_batch(store, batch_id) if BATCH_ID.match(batch_id) else None
    if batch is None:
        raise NotFound(f"no batch {batch_id!r} (unknown, or expired)")
    return batch


def view(store: JobStore, batch: BatchState) -> BatchView:
    return batches.batch_view(batch, batches.load_jobs(store, batch))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchCreated,
    responses=ERRORS,
    openapi_extra={"requestBody": BATCH_BODY},
    summary="Submit many photos at once",
)
async def submit_batch(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    store: StoreDep,
    runner: RunnerDep,
    options: RenderOptionsDep,
    callback_url: Annotated[
        str | None, Query(description="receives the batch JSON, signed, once every item finished")
    ] = None,
) -> JSONResponse:
    """202 with the batch's id, counts and links (``Location`` too). Each file becomes a job; a file that is
    empty, too large or not an image fails alone (its item says why), the rest go on."""
    if callback_url is not None:
        await run_in_threadpool(check_callback_url, callback_url, settings)  # DNS: not on the event loop
    files = await read_batch_files(request, settings)
    batch = await run_in_threadpool(
        create_batch, files, options, callback_url, settings, store, runner, state.notifier
    )
    current = await run_in_threadpool(view, store, batch)
    body = BatchCreated(
        id=current.id, status=current.status, total=current.total, counts=current.counts, links=current.links
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": batch_path(batch.id)},
    )


@router.get("/{batch_id}", response_model=BatchView, responses=ERRORS, summary="A batch's progress and items")
def get_batch(batch_id: str, store: StoreDep) -> BatchView:
    return view(store, load_batch_or_404(store, batch_id))


def batch_for_results(
    batch_id: str,
    store: StoreDep,
    settings: SettingsDep,
    wait: Annotated[
        float, Query(ge=0, description="seconds to wait for items still running (at most max_wait_s)")
    ] = 0,
) -> BatchState:
    """The checks of the results stream, made before it starts (a stream cannot turn into a 404 later)."""
    if wait > settings.max_wait_s:
        raise InvalidRequest(f"query.wait: at most {settings.max_wait_s} seconds")
    return load_batch_or_404(store, batch_id)


@router.get(
    "/{batch_id}/results",
    responses=ERRORS,
    summary="The batch's results as JSON Lines, in upload order",
)
async def get_batch_results(
    batch: Annotated[BatchState, Depends(batch_for_results)],
    store: StoreDep,
    wait: float = 0,
    start: Annotated[int, Query(ge=0, description="the first item (index) to report")] = 0,
) -> AsyncIterator[BatchResultLine]:
    """One line per finished item from ``start`` on, in upload order; the stream ends at the first item that is
    not finished within ``wait`` seconds (resume with ``start`` = its index) or after the last item."""
    deadline = time.monotonic() + wait
    for item in batch.items[start:]:
        while True:
            job = await run_in_threadpool(store.load_job, item.job_id) if item.job_id else None
            line = batches.result_line(item, job)
            if line is not None:
                yield line
                break
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(RESULTS_POLL_S)
