"""The job store's byte budget, deletion and state updates, in both stores: the memory store counts its own
bytes; the Redis store keeps Redis ``used_memory`` under the budget (a redis-server of these tests only, so
nothing else moves its figure)."""

from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest
import redis

from services.contracts import ImageInfo, ImageResult, JobState, JobStatus
from services.errors import PayloadTooLarge, StoreFull
from services.settings import Settings
from services.store import JobStore, MemoryJobStore, RedisJobStore

MIB = 1024 * 1024


def new_job() -> JobState:
    now = time.time()
    return JobState(id=uuid.uuid4().hex, status=JobStatus.queued, created_at=now, updated_at=now)


def admit(store: JobStore, nbytes: int, reserve: int | None = None) -> JobState:
    """What the gateway does: reserve (``nbytes`` unless told), save the state, save an upload of ``nbytes``."""
    job = new_job()
    store.reserve(job.id, nbytes if reserve is None else reserve)
    store.save_job(job)
    store.save_upload(job, os.urandom(nbytes))  # random: nothing compresses or shares it
    return job


NO_FACES = ImageResult(
    image=ImageInfo(width=64, height=64, format="png", original_width=64, original_height=64, sha256=""),
    faces=[],
)


def finish(store: JobStore, job: JobState) -> None:
    """What the composer does once it saved the renders (here: ``overlay.png``, if any)."""
    assert store.update_job(job.model_copy(update={"status": JobStatus.done, "result": NO_FACES}))
    store.drop_intermediates(job.id)


# ---------------------------------------------------------------------------------------------------------------
# memory store: its own byte count


def memory_store(max_bytes: int, **updates) -> MemoryJobStore:
    return MemoryJobStore(Settings(key_prefix="budget", store_max_bytes=max_bytes, **updates))


def test_memory_store_evicts_the_oldest_finished_jobs_first() -> None:
    store = memory_store(11 * MIB)
    jobs = []
    for _ in range(4):
        job = admit(store, 2 * MIB)
        store.save_file(job, "overlay.png", os.urandom(2 * MIB))  # the result that outlives the upload
        finish(store, job)
        jobs.append(job)
    assert store.usage().used_bytes == pytest.approx(8 * MIB, rel=0.01)
    # the next job needs 6 MiB: the two oldest finished jobs go, whole (state and files)
    newest = admit(store, 6 * MIB)
    assert [store.load_job(j.id) is None for j in jobs] == [True, True, False, False]
    assert store.load_file(jobs[0].id, "overlay.png") is None
    assert store.load_file(jobs[2].id, "overlay.png") is not None
    usage = store.usage()
    assert usage.evictions == 2 and usage.finished_jobs == 2 and usage.unfinished_jobs == 1
    assert usage.used_bytes + usage.reserved_bytes <= usage.max_bytes
    assert store.load_upload(newest.id) is not None


def test_memory_store_never_evicts_unfinished_jobs_and_refuses_new_ones() -> None:
    store = memory_store(10 * MIB)
    running = [admit(store, 3 * MIB) for _ in range(3)]
    with pytest.raises(StoreFull) as caught:
        admit(store, 2 * MIB)
    assert caught.value.http_status == 503 and caught.value.code == "store_full"
    assert int(caught.value.headers["Retry-After"]) >= 1
    assert "10.0 MiB" in caught.value.message and "EMOTICON_STORE_MAX_BYTES" in caught.value.message
    assert all(store.load_upload(job.id) is not None for job in running)
    # one finishes, leaving a 3 MiB result: it is evicted for the next job, the others stay
    store.save_file(running[0], "overlay.png", os.urandom(3 * MIB))
    finish(store, running[0])
    admit(store, 3 * MIB)
    assert store.load_job(running[0].id) is None
    assert all(store.load_job(job.id) is not None for job in running[1:])


def test_memory_store_counts_what_an_unfinished_job_was_admitted_for() -> None:
    store = memory_store(10 * MIB)
    job = new_job()
    store.reserve(job.id, 6 * MIB)  # the upload is small, but the decoded image will not be
    store.save_job(job)
    store.save_upload(job, b"x" * 1000)
    assert store.usage().used_bytes + store.usage().reserved_bytes == pytest.approx(6 * MIB, rel=0.001)
    with pytest.raises(StoreFull):
        store.reserve(uuid.uuid4().hex, 5 * MIB)
    finish(store, job)  # finished: only what it holds counts
    assert store.usage().reserved_bytes == 0
    store.reserve(uuid.uuid4().hex, 5 * MIB)


def test_writes_of_a_job_in_flight_evict_finished_jobs_not_itself() -> None:
    store = memory_store(10 * MIB)
    done = admit(store, 4 * MIB)
    store.save_file(done, "overlay.png", os.urandom(4 * MIB))
    finish(store, done)
    running = admit(store, 1 * MIB)
    store.save_file(running, "overlay.png", os.urandom(5 * MIB))  # more than it was admitted for
    assert store.load_job(done.id) is None
    assert store.load_file(running.id, "overlay.png") is not None


def test_a_job_bigger_than_the_whole_budget_is_413_not_503() -> None:
    store = memory_store(1 * MIB)
    with pytest.raises(PayloadTooLarge, match="EMOTICON_STORE_MAX_BYTES"):
        store.reserve(uuid.uuid4().hex, 2 * MIB)


def test_a_reservation_given_back_frees_its_room() -> None:
    store = memory_store(4 * MIB)
    job_id = uuid.uuid4().hex
    store.reserve(job_id, 3 * MIB)
    with pytest.raises(StoreFull):
        store.reserve(uuid.uuid4().hex, 2 * MIB)
    store.release(job_id)
    store.reserve(uuid.uuid4().hex, 2 * MIB)


# ---------------------------------------------------------------------------------------------------------------
# both stores: deletion and updates


@pytest.fixture(params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest, redis_settings: Settings) -> JobStore:
    if request.param == "memory":
        return MemoryJobStore(redis_settings)
    return RedisJobStore(redis_settings)


def test_delete_job_removes_every_key_and_is_idempotent(any_store: JobStore, redis_db: redis.Redis) -> None:
    job = new_job()
    any_store.save_job(job)
    any_store.save_upload(job, b"upload")
    any_store.save_array(job, "bgr", np.zeros((2, 2, 3), np.uint8))
    any_store.start_attempt(job)
    done = job.model_copy(update={"status": JobStatus.done, "result": NO_FACES})
    any_store.save_file(job, "overlay.png", b"png")
    assert any_store.update_job(done)
    any_store.delete_job(job.id)
    assert any_store.load_job(job.id) is None
    assert any_store.load_upload(job.id) is None
    assert any_store.load_array(job.id, "bgr") is None
    assert any_store.load_file(job.id, "overlay.png") is None
    if isinstance(any_store, RedisJobStore):
        assert not [k for k in redis_db.scan_iter(match=f"{any_store.prefix}:*") if job.id.encode() in k]
        assert redis_db.zscore(f"{any_store.prefix}:budget:finished", job.id) is None
    else:
        assert len(any_store) == 0 and any_store.usage().used_bytes == 0
    any_store.delete_job(job.id)  # again: nothing to do, no error


def test_update_job_never_brings_back_a_deleted_job(any_store: JobStore) -> None:
    job = new_job()
    any_store.save_job(job)
    assert any_store.update_job(job.model_copy(update={"status": JobStatus.running, "stage": "detector"}))
    any_store.delete_job(job.id)
    assert not any_store.update_job(job.model_copy(update={"status": JobStatus.done}))
    assert any_store.load_job(job.id) is None
    any_store.save_file(job, "faces/0.svg", b"<svg/>")  # a late write of the running stage stores nothing
    assert any_store.load_file(job.id, "faces/0.svg") is None


def test_update_job_keeps_the_expiry(any_store: JobStore) -> None:
    job = new_job()
    any_store.save_job(job)
    first = any_store.expiry_of(any_store.job_key(job.id))
    time.sleep(0.02)
    assert any_store.update_job(job.model_copy(update={"status": JobStatus.running}))
    assert any_store.expiry_of(any_store.job_key(job.id)) == pytest.approx(first, abs=0.002)


def test_attempts_count_runs_that_never_ended(any_store: JobStore) -> None:
    job = new_job()
    any_store.save_job(job)
    assert [any_store.start_attempt(job) for _ in range(3)] == [1, 2, 3]
    any_store.end_attempt(job.id)
    assert any_store.start_attempt(job) == 1
    any_store.delete_job(job.id)
    assert any_store.start_attempt(job) == 0  # a job that is gone counts nothing


# ---------------------------------------------------------------------------------------------------------------
# Redis store: used_memory kept under the budget by whoever admits jobs


def redis_store(client: redis.Redis, max_bytes: int) -> RedisJobStore:
    port = client.connection_pool.connection_kwargs["port"]
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{port}/0",
        key_prefix=f"b-{uuid.uuid4().hex[:8]}",
        store_max_bytes=max_bytes,
    )
    return RedisJobStore(settings, client)


def used_memory(client: redis.Redis) -> int:
    """Redis used_memory once the client's input buffers are gone: a connection that just sent a big value
    keeps a buffer of that size for a while, so the test's connections are closed first."""
    client.connection_pool.disconnect()
    time.sleep(0.05)
    return int(client.info("memory")["used_memory"])


def test_redis_store_keeps_used_memory_within_the_budget(own_redis: redis.Redis) -> None:
    own_redis.flushall()
    store = redis_store(own_redis, used_memory(own_redis) + 12 * MIB)
    peaks = []
    jobs = []
    for _ in range(16):
        # a value of 1 MiB takes 1.25 MiB of Redis memory: the reservation covers the job's peak (two of them)
        job = admit(store, 1 * MIB, reserve=3 * MIB)
        peaks.append(used_memory(own_redis))
        store.save_file(job, "overlay.png", os.urandom(1 * MIB))
        peaks.append(used_memory(own_redis))
        finish(store, job)
        jobs.append(job)
    assert max(peaks) <= store.max_bytes
    alive = [store.load_job(job.id) is not None for job in jobs]
    assert alive[-1] and not alive[0]
    assert alive == sorted(alive)  # evicted oldest first: every evicted job is older than every kept one
    usage = store.usage()
    assert usage.evictions == alive.count(False) and usage.finished_jobs == alive.count(True)
    assert usage.used_bytes <= usage.max_bytes and usage.unfinished_jobs == 0


def test_redis_store_refuses_when_unfinished_jobs_fill_it(own_redis: redis.Redis) -> None:
    own_redis.flushall()
    store = redis_store(own_redis, used_memory(own_redis) + 16 * MIB)
    # what a job was admitted for counts until it finishes (on top of used_memory: the safe side)
    running = [admit(store, 64 * 1024, reserve=6 * MIB) for _ in range(2)]
    with pytest.raises(StoreFull):
        admit(store, 64 * 1024, reserve=6 * MIB)
    assert store.usage().unfinished_jobs == 2
    assert all(store.load_upload(job.id) is not None for job in running)
    store.save_file(running[0], "overlay.png", os.urandom(4 * MIB))
    finish(store, running[0])
    used_memory(own_redis)  # settle
    admit(store, 64 * 1024, reserve=8 * MIB)  # evicting the finished one (5 MiB in Redis) makes room
    assert store.load_job(running[0].id) is None and store.load_job(running[1].id) is not None


def test_redis_memory_config_is_read(own_redis: redis.Redis) -> None:
    store = redis_store(own_redis, 1 * MIB)
    own_redis.config_set("maxmemory-policy", "allkeys-lru")
    own_redis.config_set("maxmemory", str(64 * MIB))
    try:
        assert store.memory_config() == (64 * MIB, "allkeys-lru")
    finally:
        own_redis.config_set("maxmemory", "0")
        own_redis.config_set("maxmemory-policy", "noeviction")
    assert store.memory_config() == (0, "noeviction")
