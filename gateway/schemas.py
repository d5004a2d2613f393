"""Request and response bodies of the HTTP API that are not stage contracts (those are ``services.contracts``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.contracts import (
    BatchCounts,
    BatchStatus,
    ErrorInfo,
    FaceAttributes,
    JobState,
    JobStatus,
    RenderOptions,
)

API_PREFIX = "/v1"


class FaceLinks(BaseModel):
    svg: str
    png: str | None = Field(default=None, description="absent when the job was submitted with renders=svg")


class JobLinks(BaseModel):
    self: str = Field(description="this job")
    overlay: str | None = Field(default=None, description="the photo with every face boxed (when done)")
    faces: list[FaceLinks] = Field(default_factory=list, description="each face's emoticon (when done)")


class JobCreated(BaseModel):
    id: str
    status: JobStatus
    links: JobLinks


class JobView(JobState):
    """A job's state plus links to its renders."""

    links: JobLinks


class RenderRequest(BaseModel):
    attributes: FaceAttributes
    options: RenderOptions = Field(default_factory=RenderOptions)
    format: Literal["svg", "png", "json"] = Field(
        default="svg", description="svg or png: the file; json: {emoji, svg}"
    )


class RenderedJson(BaseModel):
    emoji: str
    svg: str


class ErrorBody(BaseModel):
    code: str = Field(
        description="stable machine-readable code: invalid_image, unsupported_media_type, image_too_small, "
        "extreme_aspect_ratio (422), payload_too_large (413), invalid_request (422), not_found, unauthorized, "
        "overloaded (429 + Retry-After), store_full (503 + Retry-After: the job store's byte budget is taken "
        "by unfinished jobs), service_unavailable, ..."
    )
    message: str = Field(description="for people: what went wrong, quoting the server's own limits")


class ErrorResponse(BaseModel):
    error: ErrorBody


def job_path(job_id: str) -> str:
    return f"{API_PREFIX}/jobs/{job_id}"


def job_links(job: JobState) -> JobLinks:
    base = job_path(job.id)
    if job.result is None:
        return JobLinks(self=base)
    rasters = job.options.renders == "all"
    faces = [
        FaceLinks(svg=f"{base}/faces/{f.index}.svg", png=f"{base}/faces/{f.index}.png" if rasters else None)
        for f in job.result.faces
    ]
    return JobLinks(self=base, overlay=f"{base}/overlay.png" if rasters else None, faces=faces)


def job_view(job: JobState) -> JobView:
    return JobView(**job.model_dump(), links=job_links(job))


# ---- batches ---------------------------------------------------------------------------------------------------


class BatchLinks(BaseModel):
    self: str
    results: str = Field(description="JSON Lines, one line per finished item, in upload order")


class BatchItemLinks(BaseModel):
    job: str | None = Field(default=None, description="the item's job (absent when refused at submission)")


class BatchItemView(BaseModel):
    index: int
    filename: str
    job_id: str | None = None
    status: JobStatus
    stage: Literal["detector", "classifier", "composer"] | None = None
    error: ErrorInfo | None = None
    links: BatchItemLinks


class BatchCreated(BaseModel):
    id: str
    status: BatchStatus
    total: int
    counts: BatchCounts
    links: BatchLinks


class BatchView(BatchCreated):
    """A batch's progress and each item's job link."""

    created_at: float
    options: RenderOptions
    callback_url: str | None = None
    items: list[BatchItemView]


def batch_path(batch_id: str) -> str:
    return f"{API_PREFIX}/batches/{batch_id}"


def batch_links(batch_id: str) -> BatchLinks:
    return BatchLinks(self=batch_path(batch_id), results=f"{batch_path(batch_id)}/results")
