"""A done job's rendered files as the API serves them: stored by the composer stage, or drawn when first asked for.

The composer stage stores each face's SVG and, for ``renders=all``, the overlay (it needs the photo, which is
deleted when the job ends). A face's PNG needs only its attributes and the job's options, both in the job's
result, so it is drawn on its first request and then stored like any other file of the job: until the job's
expiry, counted in the store's byte budget, deleted with the job. Two first requests at once each draw the same
bytes (the drawing is pure) and store them twice; the second write replaces the first with equal bytes.
"""

from __future__ import annotations

import re

from services.composer import render_png
from services.contracts import JobState, JobStatus
from services.store import JobStore

_FACE_PNG = re.compile(r"faces/(\d+)\.png")


def draw_on_request(job: JobState, path: str) -> bytes | None:
    """The file at ``path`` drawn from ``job``'s result: ``faces/{n}.png`` of a done ``renders=all`` job with a
    face ``n``; None for any other path or job (those files exist only as the composer stored them)."""
    match = _FACE_PNG.fullmatch(path)
    if match is None or job.status != JobStatus.done or job.result is None or job.options.renders != "all":
        return None
    index = int(match.group(1))
    face = next((f for f in job.result.faces if f.index == index), None)
    return None if face is None else render_png(face.attributes, job.options)


def job_file(store: JobStore, job: JobState, path: str) -> bytes | None:
    """The bytes of ``job``'s file at ``path``: as stored, else drawn now (``draw_on_request``) and stored with
    the job's expiry; None when the job has no such file."""
    data = store.load_file(job.id, path)
    if data is not None:
        return data
    data = draw_on_request(job, path)
    if data is None:
        return None
    store.save_file(job, path, data)  # stores nothing once the job's state is gone
    if store.expiry_of(store.job_key(job.id)) is None:  # deleted or evicted while we drew: leave nothing behind
        store.delete([store.file_key(job.id, path)])
    return data
