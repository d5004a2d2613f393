"""Request and response bodies of the HTTP API that are not stage contracts (those are ``services.contracts``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.contracts import FaceAttributes, JobState, JobStatus, RenderOptions

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
    code: str
    message: str


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
