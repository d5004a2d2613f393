"""``POST /v1/jobs?wait=`` over HTTP with real workers: it answers as soon as the job finishes (woken by the job's
announcement, not by polling), a job that fails in a stage wakes it too, and a job that cannot finish in time gets
202 after ``wait`` seconds, having read the job's state only a few times meanwhile."""

from __future__ import annotations

import statistics
import threading
import time
import uuid

import httpx
import pytest
import redis
from integration_stack import TEST_REDIS_URL, Gateway, Processes, Stack, stack_env

from tests.imaging.test_input_hygiene import png_with_broken_body

pytestmark = pytest.mark.integration

FALLBACK_S = 1.0  # gateway.completion.FALLBACK_S: a lost announcement would cost up to this


@pytest.fixture(scope="module")
def idle_gateway(processes: Processes, redis_db15: redis.Redis) -> Gateway:
    """A distributed gateway on a key prefix no worker serves: its jobs stay queued."""
    stack = Stack(processes, stack_env(TEST_REDIS_URL, f"idle-{uuid.uuid4().hex[:8]}"), "idle")
    gateway = stack.start_gateway("distributed", wait=False)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{gateway.url}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline and gateway.process.alive(), gateway.process.tail()
        time.sleep(0.2)
    yield gateway
    gateway.process.stop()


def test_wait_answers_as_soon_as_the_job_is_done(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    lags = []
    with gateway.client() as client:
        client.post("/v1/jobs?wait=30", content=astronaut_jpeg)  # warm-up
        for _ in range(5):
            response = client.post("/v1/jobs?wait=30", content=astronaut_jpeg)
            received = time.time()
            job = response.json()
            assert response.status_code == 200 and job["status"] == "done", response.text[:300]
            lags.append(received - job["updated_at"])  # the composer's write of done -> the answer here
    assert statistics.median(lags) < 0.3 * FALLBACK_S, lags


def test_a_job_failing_in_a_stage_wakes_the_wait(gateway: Gateway) -> None:
    """A PNG whose chunks are sound but whose pixel data is no deflate stream passes the gateway's check and is
    refused by the detector's full decode: the waiting request gets the failed job at once, and the workers live."""
    with gateway.client() as client:
        t0 = time.monotonic()
        response = client.post("/v1/jobs?wait=30", content=png_with_broken_body(64, 64))
        elapsed = time.monotonic() - t0
        job = response.json()
        assert response.status_code == 200 and job["status"] == "failed", response.text[:300]
        assert job["error"]["code"] == "invalid_image"
        assert elapsed < 10, elapsed
        assert client.get("/readyz").status_code == 200


def job_state_reads(client: redis.Redis, job_key_prefix: bytes, during: threading.Event) -> list[bytes]:
    """GETs of job state keys (``{prefix}:job:``) that Redis executes while ``during`` is unset (MONITOR)."""
    seen: list[bytes] = []
    with client.monitor() as monitor:
        for command in monitor.listen():
            if during.is_set():
                break
            words = command["command"].split()
            if len(words) >= 2 and words[0].upper() == "GET" and words[1].startswith(job_key_prefix.decode()):
                seen.append(words[1].encode())
    return seen


def test_wait_times_out_on_time_without_polling(idle_gateway: Gateway, astronaut_jpeg: bytes) -> None:
    prefix = idle_gateway.process.env["EMOTICON_KEY_PREFIX"]
    done = threading.Event()
    reads: list[bytes] = []
    watcher = threading.Thread(
        target=lambda: reads.extend(job_state_reads(redis.Redis.from_url(TEST_REDIS_URL), f"{prefix}:job:".encode(), done))
    )
    watcher.start()
    time.sleep(0.3)  # MONITOR is on
    wait_s = 2.5
    try:
        with idle_gateway.client() as client:
            t0 = time.monotonic()
            response = client.post(f"/v1/jobs?wait={wait_s}", content=astronaut_jpeg)
            elapsed = time.monotonic() - t0
    finally:
        done.set()
        redis.Redis.from_url(TEST_REDIS_URL).ping()  # one more command, so the monitor loop sees ``done``
        watcher.join(10)
    assert response.status_code == 202 and response.json()["status"] == "queued", response.text[:300]
    assert wait_s <= elapsed < wait_s + 2.0, elapsed
    job_key = f"{prefix}:job:{response.json()['id']}".encode()
    waits = [key for key in reads if key == job_key]
    # the first read, one per fallback period, the last: a poll every 20 ms would be > 100
    assert 1 <= len(waits) <= wait_s / FALLBACK_S + 3, len(waits)
