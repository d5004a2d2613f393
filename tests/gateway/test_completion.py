"""gateway.completion on the embedded store (a real MemoryJobStore, jobs finished from another thread as the
runner does): a waiter wakes on the job's announcement, times out on time, and survives a lost announcement."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid

import pytest

from gateway.completion import FinishedJobs, wait_for_job
from services.contracts import JobState, JobStatus, RenderOptions
from services.settings import Settings
from services.store import MemoryJobStore

NEVER_S = 60.0  # a fallback re-read this late never happens within a test: only the announcement can wake


@pytest.fixture
def store() -> tuple[MemoryJobStore, FinishedJobs]:
    store = MemoryJobStore(Settings())
    finished = FinishedJobs()
    store.add_finished_listener(finished.notify)
    return store, finished


def run_in_own_loop(coroutine):
    """Run ``coroutine`` to completion on a fresh event loop in its own thread: other tests in the session (the
    browser tests' Playwright) may leave an event loop running in this one, where ``asyncio.run`` refuses."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def queued_job(store: MemoryJobStore) -> JobState:
    now = time.time()
    job = JobState(
        id=uuid.uuid4().hex, status=JobStatus.queued, created_at=now, updated_at=now, options=RenderOptions()
    )
    store.save_job(job)
    return job


def finish_later(store: MemoryJobStore, job: JobState, after_s: float, announce: bool = True) -> threading.Thread:
    """Mark ``job`` done from another thread after ``after_s``; without ``announce`` the state is written behind
    the store's back (a lost announcement)."""

    def finish() -> None:
        time.sleep(after_s)
        done = job.model_copy(update={"status": JobStatus.done, "updated_at": time.time()})
        if announce:
            assert store.update_job(done)
        else:
            assert store.update(store.job_key(job.id), done.model_dump_json().encode())

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def timed_wait(store: MemoryJobStore, finished: FinishedJobs, job_id: str, seconds: float, fallback_s: float):
    async def run() -> tuple[JobState | None, float]:
        t0 = time.monotonic()
        job = await wait_for_job(store, finished, job_id, seconds, fallback_s=fallback_s)
        return job, time.monotonic() - t0

    return run_in_own_loop(run())


def test_a_waiter_wakes_on_the_announcement(store) -> None:
    store, finished = store
    job = queued_job(store)
    thread = finish_later(store, job, 0.3)
    got, elapsed = timed_wait(store, finished, job.id, 10.0, NEVER_S)
    thread.join()
    assert got is not None and got.status == JobStatus.done
    assert 0.2 <= elapsed < 1.5, elapsed  # the finisher started its 0.3 s just before the clock
    assert finished.waiting() == 0  # the waiter is gone once it returned


def test_a_job_already_finished_returns_at_once(store) -> None:
    store, finished = store
    job = queued_job(store)
    store.update_job(job.model_copy(update={"status": JobStatus.failed}))
    got, elapsed = timed_wait(store, finished, job.id, 10.0, NEVER_S)
    assert got is not None and got.status == JobStatus.failed
    assert elapsed < 0.5, elapsed


def test_the_wait_times_out_with_none(store) -> None:
    store, finished = store
    job = queued_job(store)
    got, elapsed = timed_wait(store, finished, job.id, 0.5, NEVER_S)
    assert got is None
    assert 0.5 <= elapsed < 1.5, elapsed


def test_a_lost_announcement_is_caught_by_the_fallback_read(store) -> None:
    store, finished = store
    job = queued_job(store)
    thread = finish_later(store, job, 0.2, announce=False)
    got, elapsed = timed_wait(store, finished, job.id, 10.0, 0.3)
    thread.join()
    assert got is not None and got.status == JobStatus.done
    assert elapsed < 2.0, elapsed


def test_notify_all_wakes_every_waiter_to_read_again(store) -> None:
    store, finished = store
    jobs = [queued_job(store) for _ in range(3)]

    async def run() -> list[JobState | None]:
        waits = [asyncio.create_task(wait_for_job(store, finished, j.id, 10.0, NEVER_S)) for j in jobs]
        while finished.waiting() < len(jobs):
            await asyncio.sleep(0.01)
        for j in jobs:  # finished behind the store's back, as while a subscriber was disconnected
            store.update(store.job_key(j.id), j.model_copy(update={"status": JobStatus.done}).model_dump_json().encode())
        await asyncio.sleep(0.05)
        finished.notify_all()
        return await asyncio.wait_for(asyncio.gather(*waits), 2.0)

    results = run_in_own_loop(run())
    assert [job.status for job in results] == [JobStatus.done] * 3  # type: ignore[union-attr]


def test_a_job_gone_is_waited_for_until_the_timeout(store) -> None:
    store, finished = store
    got, elapsed = timed_wait(store, finished, uuid.uuid4().hex, 0.3, NEVER_S)
    assert got is None and elapsed >= 0.3
