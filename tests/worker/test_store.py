"""JobStore: both implementations behave the same (layout, shared expiry, nothing kept past the TTL)."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
import redis

from services.contracts import JobState, JobStatus
from services.errors import ServiceUnavailable
from services.settings import Settings
from services.store import STAGE_BUCKETS_S, JobStore, MemoryJobStore, RedisJobStore


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest, redis_settings: Settings):
    def make(**updates) -> JobStore:
        settings = redis_settings.model_copy(update=updates)
        return MemoryJobStore(settings) if request.param == "memory" else RedisJobStore(settings)

    return make


def new_job(created_at: float | None = None) -> JobState:
    now = time.time() if created_at is None else created_at
    return JobState(id=uuid.uuid4().hex, status=JobStatus.queued, created_at=now, updated_at=now)


def test_round_trips_every_kind_of_value(make_store, astronaut_bgr: np.ndarray) -> None:
    store = make_store()
    job = new_job()
    store.save_job(job)
    store.save_upload(job, b"\xff\xd8upload")
    store.save_array(job, "bgr", astronaut_bgr)
    store.save_file(job, "faces/0.svg", b"<svg/>")

    assert store.load_job(job.id) == job
    assert store.load_upload(job.id) == b"\xff\xd8upload"
    array = store.load_array(job.id, "bgr")
    assert array is not None and array.dtype == np.uint8 and array.shape == astronaut_bgr.shape
    assert np.array_equal(array, astronaut_bgr)
    assert store.load_file(job.id, "faces/0.svg") == b"<svg/>"
    assert store.load_file(job.id, "faces/1.svg") is None
    assert store.load_job(uuid.uuid4().hex) is None


def test_redis_keys_follow_the_documented_layout(redis_settings: Settings, redis_db: redis.Redis) -> None:
    store = RedisJobStore(redis_settings)
    job = new_job()
    store.save_job(job)
    store.save_upload(job, b"x")
    store.save_array(job, "bgr", np.zeros((2, 3, 3), np.uint8))
    store.save_file(job, "overlay.png", b"png")
    p = redis_settings.key_prefix
    expected = {
        f"{p}:job:{job.id}",
        f"{p}:img:{job.id}",
        f"{p}:arr:{job.id}:bgr",
        f"{p}:file:{job.id}:overlay.png",
    }
    assert {k.decode() for k in redis_db.scan_iter(match=f"{p}:*")} == expected
    # every key carries a TTL and they all end at the same instant: created_at + job_ttl_s
    expiries = {redis_db.pexpiretime(key) for key in expected}
    assert len(expiries) == 1
    assert abs(expiries.pop() / 1000 - (job.created_at + redis_settings.job_ttl_s)) < 0.01


def test_later_writes_keep_the_expiry_fixed_at_creation(make_store) -> None:
    creator = make_store(job_ttl_s=30)
    job = new_job()
    creator.save_job(job)
    first = creator.expiry_of(creator.job_key(job.id))
    # a worker configured with a much longer TTL updates the job and adds files: nothing outlives the job
    worker = creator if isinstance(creator, MemoryJobStore) else make_store(job_ttl_s=3600)
    time.sleep(0.05)
    worker.save_job(job.model_copy(update={"status": JobStatus.running}))
    worker.save_file(job, "faces/0.png", b"png")
    assert worker.expiry_of(worker.job_key(job.id)) == pytest.approx(first, abs=0.002)
    assert worker.expiry_of(worker.file_key(job.id, "faces/0.png")) == pytest.approx(first, abs=0.002)
    assert first == pytest.approx(job.created_at + 30, abs=0.002)


def test_nothing_is_kept_past_the_ttl(make_store) -> None:
    store = make_store(job_ttl_s=1)
    job = new_job()
    store.save_job(job)
    store.save_upload(job, b"x")
    store.save_file(job, "faces/0.svg", b"<svg/>")
    assert store.load_job(job.id) is not None
    time.sleep(1.15)
    assert store.load_job(job.id) is None
    assert store.load_upload(job.id) is None
    assert store.load_file(job.id, "faces/0.svg") is None
    # a write arriving after the job expired stores nothing
    store.save_file(job, "faces/1.svg", b"<svg/>")
    assert store.load_file(job.id, "faces/1.svg") is None


def test_memory_store_purges_expired_entries_without_reads(redis_settings: Settings) -> None:
    store = MemoryJobStore(redis_settings.model_copy(update={"job_ttl_s": 1}))
    for _ in range(5):
        job = new_job()
        store.save_job(job)
        store.save_upload(job, b"x" * 1000)
    assert len(store) == 10
    time.sleep(1.1)
    assert len(store) == 0


def test_a_job_created_long_ago_is_already_expired(make_store) -> None:
    store = make_store(job_ttl_s=10)
    job = new_job(created_at=time.time() - 11)
    store.save_job(job)
    assert store.load_job(job.id) is None


def test_drop_intermediates_keeps_state_and_files(make_store) -> None:
    store = make_store()
    job = new_job()
    store.save_job(job)
    store.save_upload(job, b"x")
    store.save_array(job, "bgr", np.ones((1, 1, 3), np.uint8))
    store.save_file(job, "overlay.png", b"png")
    store.drop_intermediates(job.id, arrays=("bgr",))
    assert store.load_upload(job.id) is None
    assert store.load_array(job.id, "bgr") is None
    assert store.load_job(job.id) is not None
    assert store.load_file(job.id, "overlay.png") == b"png"


def test_finish_job_saves_state_and_files_and_drops_the_photo(make_store) -> None:
    store = make_store()
    job = new_job()
    store.save_job(job)
    store.save_upload(job, b"x")
    store.save_array(job, "bgr", np.ones((1, 1, 3), np.uint8))
    store.start_attempt(job)
    done = job.model_copy(update={"status": JobStatus.done})
    assert store.finish_job(done, {"faces/0.svg": b"<svg/>", "overlay.png": b"png"})
    assert store.load_job(job.id) == done
    assert store.load_file(job.id, "faces/0.svg") == b"<svg/>"
    assert store.load_file(job.id, "overlay.png") == b"png"
    assert store.expiry_of(store.file_key(job.id, "overlay.png")) == pytest.approx(
        store.expiry_of(store.job_key(job.id)), abs=0.002
    )
    assert store.load_upload(job.id) is None and store.load_array(job.id, "bgr") is None
    assert store.expiry_of(store.attempts_key(job.id)) is None


def test_finish_job_of_a_deleted_job_keeps_nothing(make_store) -> None:
    store = make_store()
    job = new_job()
    store.save_job(job)
    store.save_upload(job, b"x")
    store.delete_job(job.id)
    failed = job.model_copy(update={"status": JobStatus.failed})
    assert not store.finish_job(failed, {"overlay.png": b"png"})
    assert store.load_job(job.id) is None
    assert store.load_file(job.id, "overlay.png") is None
    assert store.load_upload(job.id) is None


def test_stage_histogram_is_cumulative(make_store) -> None:
    store = make_store()
    observations = (0.004, 0.02, 0.02, 3.0, 100.0)
    for seconds in observations:
        store.record_stage("detector", seconds)
    stats = store.stage_stats(["detector", "composer"])
    detector = stats["detector"]
    by_bound = dict(zip([*STAGE_BUCKETS_S, float("inf")], detector.buckets, strict=True))
    assert by_bound[0.005] == 1
    assert by_bound[0.025] == 3
    assert by_bound[2.5] == 3
    assert by_bound[5.0] == 4
    assert by_bound[30.0] == 4
    assert detector.count == 5
    assert detector.total_s == pytest.approx(sum(observations))
    assert stats["composer"].count == 0


def test_redis_store_down_is_service_unavailable() -> None:
    # port 1 on loopback: nothing listens there
    store = RedisJobStore(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert store.ping() is False
    with pytest.raises(ServiceUnavailable):
        store.load_job(uuid.uuid4().hex)
    with pytest.raises(ServiceUnavailable):
        store.save_job(new_job())
