"""Waiting for a job to finish without polling: ``POST /v1/jobs?wait=`` sleeps until the job's id is announced.

Whoever finishes a job (a worker, the embedded runner) saves its state, then the store announces it
(``JobStore.note_finished``): distributed, on the Redis pub/sub channel ``store.finished_channel``, which one
``RedisFinishedSubscriber`` thread per gateway listens to; embedded, through the memory store's listeners. Either
calls ``FinishedJobs.notify``, which wakes the requests waiting for that id.

No wake-up is lost: a request registers before it first reads the job's state, and clears its event before each
read, so an announcement between read and sleep leaves the event set. Pub/sub drops messages while the subscriber
is disconnected, so every waiter is woken after each (re)subscription to read the state again, and a waiter
re-reads it at least every ``fallback_s`` whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from fastapi.concurrency import run_in_threadpool

from services.contracts import FINISHED, JobState
from services.store import JobStore, RedisJobStore

log = logging.getLogger(__name__)

FALLBACK_S = 1.0  # a waiter reads the state at least this often, should an announcement be lost
RECONNECT_S = (0.1, 2.0)  # the subscriber's backoff after losing Redis: first, most


class FinishedJobs:
    """Requests waiting for jobs to finish, by job id; ``notify`` may be called from any thread."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def watch(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever ``job_id`` is announced (or every waiter is woken), while the block runs."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(waiter)
        try:
            yield waiter[1]
        finally:
            with self._lock:
                waiters = self._waiters.get(job_id)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiters[job_id]

    def waiting(self) -> int:
        """Requests waiting now."""
        with self._lock:
            return sum(len(waiters) for waiters in self._waiters.values())

    def notify(self, job_id: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(job_id, ()))
        _wake(waiters)

    def notify_all(self) -> None:
        """Wake every waiter to read its job's state again (announcements may have been missed)."""
        with self._lock:
            waiters = [waiter for waiters in self._waiters.values() for waiter in waiters]
        _wake(waiters)


def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
    for loop, event in waiters:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # its loop has closed (shutdown): nobody is left to wake
            pass


async def wait_for_job(
    store: JobStore, finished: FinishedJobs, job_id: str, seconds: float, fallback_s: float = FALLBACK_S
) -> JobState | None:
    """The job once done or failed, within ``seconds``; None if it is still queued or running then (or gone)."""
    deadline = time.monotonic() + seconds
    with finished.watch(job_id) as announced:
        while True:
            announced.clear()  # before the read: an announcement after it leaves the event set
            job = await run_in_threadpool(store.load_job, job_id)
            if job is not None and job.status in FINISHED:
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(announced.wait(), min(remaining, fallback_s))
            except TimeoutError:
                pass


class RedisFinishedSubscriber:
    """One thread subscribed to ``store.finished_channel``, passing every announced id to ``finished``;
    reconnects with backoff when Redis goes away, waking every waiter after each subscription."""

    def __init__(self, store: RedisJobStore, finished: FinishedJobs) -> None:
        self.store = store
        self.finished = finished
        self.subscribed = threading.Event()  # set while subscribed (tests, readiness)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emoticon-finished", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        backoff = RECONNECT_S[0]
        while not self._stop.is_set():
            pubsub = self.store.client.pubsub()
            try:
                pubsub.subscribe(self.store.finished_channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.subscribed.set()
                        backoff = RECONNECT_S[0]
                        self.finished.notify_all()  # what finished while we were not subscribed
                    elif message["type"] == "message":
                        self.finished.notify(message["data"].decode())
            except (redis.RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("lost the finished-jobs channel; resubscribing", extra={"error": str(exc)})
                self._stop.wait(backoff)
                backoff = min(2 * backoff, RECONNECT_S[1])
            finally:
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass
        self.subscribed.clear()
