"""``/v1/jobs``: submit an image, poll its state, fetch its renders."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gateway.completion import wait_for_job
from gateway.deps import FinishedDep, RenderOptionsDep, RunnerDep, SettingsDep, StoreDep
from gateway.runners import JobRunner
from gateway.schemas import API_PREFIX, ErrorResponse, JobCreated, JobView, job_links, job_path, job_view
from gateway.uploads import read_upload
from services.budget import job_footprint
from services.contracts import JobState, JobStatus, RenderOptions
from services.errors import EmoticonError, InvalidRequest, NotFound, Overloaded
from services.imaging import check_upload, decoded_nbytes
from services.renders import job_file
from services.settings import Settings
from services.store import JobStore
from services.webhooks import check_callback_url

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API_PREFIX}/jobs", tags=["jobs"])

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
RETRY_AFTER_S = 2
_submit_lock = threading.Lock()

UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
    "required": True,
    "description": "the photo: a multipart field named `file`, or the raw body (JPEG, PNG, WebP or BMP)",
}
ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 415, 422, 429, 503)}


def load_job_or_404(store: JobStore, job_id: str) -> JobState:
    job = store.load_job(job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise NotFound(f"no job {job_id} (unknown, expired, deleted, or evicted to make room)")
    return job


def check_queue_depth(settings: Settings, runner: JobRunner) -> None:
    """``Overloaded`` (429 with ``Retry-After``) when ``settings.max_queue_depth`` jobs already wait."""
    depth = sum(runner.queue_depths().values())
    if depth >= settings.max_queue_depth:
        error = Overloaded(f"{depth} jobs are waiting (limit {settings.max_queue_depth}); retry later")
        error.headers = {"Retry-After": str(RETRY_AFTER_S)}  # type: ignore[attr-defined]
        raise error


def create_job(
    data: bytes,
    options: RenderOptions,
    settings: Settings,
    store: JobStore,
    runner: JobRunner,
    callback_url: str | None = None,
) -> JobState:
    """Store the job and hand it to the runner, unless the queue is full (``Overloaded``) or the job store's
    budget is taken by unfinished jobs (``StoreFull``; finished ones are evicted for room first). The checks
    and the submission hold one lock, so a burst of requests on this gateway cannot all pass the checks before
    any is queued."""
    footprint = job_footprint(len(data), decoded_nbytes(data, settings))
    with _submit_lock:
        check_queue_depth(settings, runner)
        now = time.time()
        job = JobState(
            id=uuid.uuid4().hex,
            status=JobStatus.queued,
            created_at=now,
            updated_at=now,
            options=options,
            callback_url=callback_url,
        )
        store.reserve(job.id, footprint)
        try:
            store.save_job(job)  # first: it fixes the expiry of every key of the job
            store.save_upload(job, data)
            runner.submit(job.id)
        except EmoticonError:
            try:
                store.delete([store.job_key(job.id), store.upload_key(job.id)])
                store.release(job.id)
            except EmoticonError:
                log.warning("could not clean up a refused job", extra={"job_id": job.id})
            raise
    return job


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobCreated,
    responses={200: {"model": JobView, "description": "the job finished within `wait`"}, **ERRORS},
    openapi_extra={"requestBody": UPLOAD_BODY},
    summary="Submit a photo",
)
async def submit_job(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    runner: RunnerDep,
    finished: FinishedDep,
    options: RenderOptionsDep,
    wait: Annotated[
        float, Query(ge=0, description="seconds to wait for the result (at most max_wait_s)")
    ] = 0,
    callback_url: Annotated[
        str | None, Query(description="receives the job JSON, signed, once it is done or failed")
    ] = None,
) -> Response:
    """202 with the job's id and links (``Location`` header too), or 200 with the finished job when it
    finished within ``wait`` seconds."""
    if wait > settings.max_wait_s:
        raise InvalidRequest(f"query.wait: at most {settings.max_wait_s} seconds")
    if callback_url is not None:
        await run_in_threadpool(check_callback_url, callback_url, settings)  # DNS: not on the event loop
    data = await read_upload(request, settings)
    await run_in_threadpool(check_queue_depth, settings, runner)  # early too: refusing a flood costs little
    # what the detector would refuse, without decoding it in full here too (services.imaging.check_upload)
    await run_in_threadpool(check_upload, data, settings)
    job = await run_in_threadpool(create_job, data, options, settings, store, runner, callback_url)
    location = {"Location": job_path(job.id)}
    if wait > 0:
        done = await wait_for_job(store, finished, job.id, wait)  # woken by the job's announcement
        if done is not None:
            return JSONResponse(job_view(done).model_dump(mode="json"), headers=location)
    body = JobCreated(id=job.id, status=job.status, links=job_links(job))
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED, headers=location)


@router.get("/{job_id}", response_model=JobView, responses=ERRORS, summary="A job's state and result")
def get_job(job_id: str, store: StoreDep) -> JobView:
    return job_view(load_job_or_404(store, job_id))


@router.delete(
    "/{job_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={code: ERRORS[code] for code in (401, 404, 503)},
    summary="Delete a job and everything of it now",
)
def delete_job(job_id: str, store: StoreDep) -> Response:
    """Removes the job's state, upload, intermediate data and renders at once, also while it runs (it then
    stops). 204 whether or not the job still existed, so deleting twice is fine; 404 only for an id that cannot
    be a job's."""
    if not JOB_ID.match(job_id):
        raise NotFound(f"no job {job_id}: job ids are 32 hexadecimal characters")
    store.delete_job(job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _rendered_file(store: JobStore, job_id: str, path: str, media_type: str) -> Response:
    job = load_job_or_404(store, job_id)
    if job.status != JobStatus.done:
        raise NotFound(f"job {job_id} is {job.status.value}; renders exist once it is done", code="not_ready")
    data = job_file(store, job, path)  # a face PNG is drawn on its first request
    if data is None:
        raise NotFound(f"job {job_id} has no {path}")
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


@router.get(
    "/{job_id}/faces/{index}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, **ERRORS},
    summary="One face's emoticon as SVG",
)
def get_face_svg(job_id: str, index: int, store: StoreDep) -> Response:
    return _rendered_file(store, job_id, f"faces/{index}.svg", "image/svg+xml")


@router.get(
    "/{job_id}/faces/{index}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **ERRORS},
    summary="One face's emoticon as PNG",
)
def get_face_png(job_id: str, index: int, store: StoreDep) -> Response:
    return _rendered_file(store, job_id, f"faces/{index}.png", "image/png")


@router.get(
    "/{job_id}/overlay.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **ERRORS},
    summary="The photo with every face boxed and its emoticon",
)
def get_overlay(job_id: str, store: StoreDep) -> Response:
    return _rendered_file(store, job_id, "overlay.png", "image/png")
