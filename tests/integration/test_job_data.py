"""Job data against real gateways and workers, in both modes: DELETE removes everything of a job (also while it
runs), and the byte budget evicts the oldest finished jobs and refuses new ones when unfinished jobs fill it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import redis
from integration_stack import Gateway, Stack, wait_for_job

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def keys_of(redis_db15: redis.Redis, stack: Stack, job_id: str) -> list[bytes]:
    prefix = stack.env["EMOTICON_KEY_PREFIX"]
    return [k for k in redis_db15.scan_iter(match=f"{prefix}:*", count=1000) if job_id.encode() in k]


def test_delete_removes_a_finished_job_and_its_renders(
    gateway: Gateway, stack: Stack, redis_db15: redis.Redis, astronaut_jpeg: bytes
) -> None:
    with gateway.client() as client:
        job = client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()
        assert job["status"] == "done"
        links = [job["links"]["self"], job["links"]["overlay"], job["links"]["faces"][0]["svg"]]
        assert all(client.get(url).status_code == 200 for url in links)
        if gateway.mode == "distributed":
            assert keys_of(redis_db15, stack, job["id"])
        assert client.delete(job["links"]["self"]).status_code == 204
        assert [client.get(url).status_code for url in links] == [404, 404, 404]
        assert client.delete(job["links"]["self"]).status_code == 204
        if gateway.mode == "distributed":
            assert keys_of(redis_db15, stack, job["id"]) == []


@pytest.fixture(scope="module")
def slow_upload(astronaut_bgr: np.ndarray) -> bytes:
    """A 3000x3000 PNG (about 6 MB): the detector takes about a second to decode it."""
    big = cv2.resize(astronaut_bgr, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".png", big, [cv2.IMWRITE_PNG_COMPRESSION, 6])[1].tobytes()


def test_a_job_deleted_while_it_runs_never_comes_back(
    distributed_gateway: Gateway,
    stack: Stack,
    redis_db15: redis.Redis,
    slow_upload: bytes,
    astronaut_jpeg: bytes,
) -> None:
    with distributed_gateway.client() as client:
        job_id = client.post("/v1/jobs", content=slow_upload).json()["id"]
        deadline = time.monotonic() + 30
        while client.get(f"/v1/jobs/{job_id}").json()["status"] != "running":
            assert time.monotonic() < deadline, "the detector never started the job"
            time.sleep(0.01)
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
        # the next job passes every stage after the deleted one's chain: when it is done, that chain is over
        assert client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()["status"] == "done"
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert keys_of(redis_db15, stack, job_id) == []


def variants(photo: np.ndarray, n: int) -> list[bytes]:
    """``n`` different 384 px JPEGs of the photo (a slightly different crop each)."""
    out = []
    for i in range(n):
        crop = photo[i % 16 :, (i // 16) % 16 :]
        image = cv2.resize(crop, (384, 384), interpolation=cv2.INTER_AREA)
        out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return out


@pytest.fixture(scope="module")
def budget_gateway(stack: Stack) -> Gateway:
    """An embedded gateway whose store holds 4 MiB: a few finished one-face jobs (a 384 px job needs about
    1 MiB while it runs and keeps about 0.3 MiB of renders)."""
    gateway = stack.start_gateway("embedded", EMOTICON_STORE_MAX_BYTES=str(4 * MIB))
    yield gateway
    gateway.process.stop()


def test_embedded_store_evicts_the_oldest_finished_jobs(
    budget_gateway: Gateway, astronaut_bgr: np.ndarray
) -> None:
    uploads = variants(astronaut_bgr, 24)
    with budget_gateway.client() as client:
        jobs = []
        for upload in uploads:
            job = client.post("/v1/jobs?wait=30", content=upload).json()
            assert job["status"] == "done", job
            jobs.append(job)
            store = client.get("/readyz").json()["checks"]["store"]
            assert store["used_bytes"] + store["reserved_bytes"] <= store["max_bytes"], store
        alive = [client.get(job["links"]["self"]).status_code == 200 for job in jobs]
        assert alive[-1] and not alive[0] and alive == sorted(alive), alive  # oldest evicted first
        latest = jobs[-1]["links"]
        assert client.get(latest["overlay"]).status_code == 200
        assert client.get(jobs[0]["links"]["overlay"]).status_code == 404
        metrics = client.get("/metrics").text
        (evictions,) = [x for x in metrics.splitlines() if x.startswith("emoticon_store_evictions_total ")]
        assert float(evictions.split()[-1]) == alive.count(False)


@pytest.fixture(scope="module")
def tight_gateway(stack: Stack) -> Gateway:
    """An embedded gateway with room for one 384 px job in flight and not two."""
    gateway = stack.start_gateway("embedded", EMOTICON_STORE_MAX_BYTES=str(int(1.6 * MIB)))
    yield gateway
    gateway.process.stop()


def test_unfinished_jobs_filling_the_budget_get_503_with_retry_after(
    tight_gateway: Gateway, astronaut_bgr: np.ndarray
) -> None:
    uploads = variants(astronaut_bgr, 8)
    with ThreadPoolExecutor(max_workers=8) as pool, tight_gateway.client() as client:
        responses = list(pool.map(lambda data: client.post("/v1/jobs", content=data), uploads))
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) == {202, 503}, statuses
        for refused in (r for r in responses if r.status_code == 503):
            assert refused.json()["error"]["code"] == "store_full"
            assert int(refused.headers["retry-after"]) >= 1
        accepted = [r.json()["id"] for r in responses if r.status_code == 202]
        assert all(wait_for_job(client, job_id)["status"] == "done" for job_id in accepted)
        # once they are finished, they make room: a new job is accepted again
        assert client.post("/v1/jobs?wait=30", content=uploads[0]).json()["status"] == "done"
