"""Shared by the stage tests: a job submitted to a store as the gateway would, ready for ``run_stage``."""

from __future__ import annotations

import time
import uuid

from services.contracts import JobState, JobStatus, RenderOptions
from services.worker import StageContext


def submit(ctx: StageContext, upload: bytes, options: RenderOptions | None = None) -> JobState:
    now = time.time()
    job = JobState(
        id=uuid.uuid4().hex,
        status=JobStatus.queued,
        created_at=now,
        updated_at=now,
        options=options or RenderOptions(),
    )
    ctx.store.save_job(job)
    ctx.store.save_upload(job, upload)
    return job
