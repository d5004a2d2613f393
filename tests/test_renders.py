"""services.renders: which files are drawn on request, and how a drawn face PNG is kept (in the real in-memory
store: the job's expiry, the byte budget, nothing left of a deleted job, concurrent first requests)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.composer import emoji_for, render_png
from services.contracts import (
    EMOTIONS,
    EYEWEAR,
    MASKS,
    SKIN_TONES,
    FaceAttributes,
    FaceBox,
    FaceResult,
    HeadOutput,
    ImageInfo,
    ImageResult,
    JobState,
    JobStatus,
    RenderOptions,
)
from services.renders import draw_on_request, job_file
from services.settings import Settings
from services.store import MemoryJobStore


def head(labels: tuple[str, ...], label: str) -> HeadOutput:
    return HeadOutput(label=label, probabilities={name: float(name == label) for name in labels})


def face(index: int, emotion: str, eyewear: str = "none", tone: str = "medium") -> FaceResult:
    attributes = FaceAttributes(
        emotion=head(EMOTIONS, emotion),
        eyewear=head(EYEWEAR, eyewear),
        mask=head(MASKS, "none"),
        skin_tone=head(SKIN_TONES, tone),
    )
    box = FaceBox.from_pixels(40 * index, 10, 30, 30, 400, 100, 0.9)
    return FaceResult(index=index, box=box, attributes=attributes, emoji=emoji_for(attributes))


def done_job(options: RenderOptions | None = None, status: JobStatus = JobStatus.done) -> JobState:
    info = ImageInfo(width=400, height=100, format="jpeg", original_width=400, original_height=100, sha256="0" * 64)
    faces = [face(0, "happy", "glasses"), face(1, "sad", tone="dark")]
    now = time.time()
    return JobState(
        id=uuid.uuid4().hex,
        status=status,
        created_at=now,
        updated_at=now,
        options=options or RenderOptions(size=64),
        result=ImageResult(image=info, faces=faces),
    )


@pytest.fixture
def store(settings: Settings) -> MemoryJobStore:
    return MemoryJobStore(settings)


def test_a_face_png_is_that_face_drawn_with_the_job_options() -> None:
    job = done_job(RenderOptions(size=48, tone="yellow"))
    for result_face in job.result.faces:
        drawn = draw_on_request(job, f"faces/{result_face.index}.png")
        assert drawn == render_png(result_face.attributes, job.options)
    assert draw_on_request(job, "faces/0.png") != draw_on_request(job, "faces/1.png")


@pytest.mark.parametrize(
    "path", ["faces/2.png", "faces/0.svg", "overlay.png", "faces/-1.png", "faces/0.png/x", "../faces/0.png"]
)
def test_only_face_pngs_of_existing_faces_are_drawn(path: str) -> None:
    assert draw_on_request(done_job(), path) is None


def test_nothing_is_drawn_for_svg_only_or_unfinished_jobs() -> None:
    assert draw_on_request(done_job(RenderOptions(renders="svg")), "faces/0.png") is None
    running = done_job(status=JobStatus.running)
    assert draw_on_request(running, "faces/0.png") is None


def test_the_first_request_stores_the_png_with_the_jobs_expiry_and_budget(store: MemoryJobStore) -> None:
    job = done_job()
    store.save_job(job)
    before = store.usage().used_bytes
    png = job_file(store, job, "faces/1.png")
    assert png is not None and png.startswith(b"\x89PNG")
    assert store.load_file(job.id, "faces/1.png") == png
    key = store.file_key(job.id, "faces/1.png")
    assert store.expiry_of(key) == store.expiry_of(store.job_key(job.id))
    assert store.usage().used_bytes == before + len(key) + len(png)
    # later requests are served as stored, not drawn again
    store.save_file(job, "faces/1.png", b"stored")
    assert job_file(store, job, "faces/1.png") == b"stored"
    # and deleting the job deletes the drawn PNG with it
    store.delete_job(job.id)
    assert store.load_file(job.id, "faces/1.png") is None and len(store) == 0


def test_a_stored_file_is_served_and_a_missing_one_is_none(store: MemoryJobStore) -> None:
    job = done_job(RenderOptions(renders="svg"))
    store.save_job(job)
    store.save_file(job, "faces/0.svg", b"<svg/>")
    assert job_file(store, job, "faces/0.svg") == b"<svg/>"
    assert job_file(store, job, "faces/0.png") is None
    assert job_file(store, job, "overlay.png") is None
    assert len(store) == 2


def test_a_job_deleted_before_its_png_is_drawn_keeps_nothing(store: MemoryJobStore) -> None:
    job = done_job()
    store.save_job(job)
    store.delete_job(job.id)  # e.g. a DELETE between loading the job and drawing its PNG
    assert job_file(store, job, "faces/0.png") is not None
    assert len(store) == 0 and store.usage().used_bytes == 0


def test_concurrent_first_requests_get_the_same_bytes_and_store_one_file(store: MemoryJobStore) -> None:
    job = done_job(RenderOptions(size=128))
    store.save_job(job)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: job_file(store, job, "faces/0.png"), range(16)))
    assert len(set(answers)) == 1 and answers[0] == render_png(job.result.faces[0].attributes, job.options)
    assert len(store) == 2  # the state and one PNG
