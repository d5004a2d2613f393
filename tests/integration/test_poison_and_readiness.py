"""Honest readiness and poison inputs, with real workers on a Redis of this session only:

- a worker that cannot load its models exits non-zero with a clear log line, and the distributed /readyz stays
  503 until every stage has a worker whose models are loaded;
- an input that kills its worker process every time (the test-only fault hook) ends ``failed`` with
  ``worker_crashed`` after ``max_stage_crashes`` deaths, and the next job succeeds;
- the gateway keeps Redis ``used_memory`` within ``EMOTICON_STORE_MAX_BYTES``, evicting finished jobs.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import redis
from integration_stack import Gateway, Processes, Stack, stack_env, wait_for_job

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def poison_upload(astronaut_bgr: np.ndarray) -> bytes:
    """A good photo (the astronaut upside down) that the fault hook makes deadly for the detector process."""
    return cv2.imencode(".jpg", np.ascontiguousarray(astronaut_bgr[::-1]))[1].tobytes()


@pytest.fixture(scope="module")
def own_stack(processes: Processes, own_redis: redis.Redis, poison_upload: bytes) -> Stack:
    own_redis.flushall()
    port = own_redis.connection_pool.connection_kwargs["port"]
    env = stack_env(f"redis://127.0.0.1:{port}/0", f"pr-{uuid.uuid4().hex[:8]}")
    env["EMOTICON_FAULT_CRASH_SHA256"] = hashlib.sha256(poison_upload).hexdigest()
    return Stack(processes, env, "poison")


def readyz(gateway: Gateway) -> tuple[int, dict]:
    response = httpx.get(f"{gateway.url}/readyz", timeout=10)
    return response.status_code, response.json()


def test_a_worker_without_models_exits_and_readyz_waits_for_loaded_models(
    own_stack: Stack, tmp_path: Path
) -> None:
    own_stack.start_worker("detector")
    own_stack.start_worker("composer")
    broken = own_stack.start_worker("classifier", EMOTICON_MODEL_DIR=str(tmp_path))  # no manifest.json there
    gateway = own_stack.start_gateway("distributed", wait=False)
    deadline = time.monotonic() + 90
    while broken.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert broken.proc.returncode not in (None, 0), broken.tail()
    log = broken.log_path.read_text(errors="replace")
    assert "the classifier worker cannot load its models, so it stops" in log
    assert "manifest.json is missing" in log

    # the two healthy stages report loaded models, the classifier none: not ready
    deadline = time.monotonic() + 90
    while True:
        status, body = readyz(gateway)
        workers = body["checks"].get("workers")
        if isinstance(workers, dict) and workers["detector"] and workers["composer"]:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    assert status == 503 and body["status"] == "not_ready"
    assert workers["classifier"] == 0
    assert body["checks"]["redis_memory"]["problems"] == []

    own_stack.start_worker("classifier")
    gateway.wait_ready(timeout_s=90)
    status, body = readyz(gateway)
    assert status == 200 and body["checks"]["workers"] == {"detector": 1, "classifier": 1, "composer": 1}
    own_stack.gateway = gateway  # type: ignore[attr-defined]  # the next tests use it


def test_a_poison_input_fails_with_worker_crashed_and_the_next_job_succeeds(
    own_stack: Stack, poison_upload: bytes, astronaut_jpeg: bytes
) -> None:
    gateway: Gateway = own_stack.gateway  # type: ignore[attr-defined]
    detector = own_stack.workers["detector"]
    children_before = detector.children()
    with gateway.client() as client:
        response = client.post("/v1/jobs", content=poison_upload)
        assert response.status_code == 202, response.text
        job = wait_for_job(client, response.json()["id"], timeout_s=120)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "worker_crashed"
        assert "died 2 times" in job["error"]["message"]
        # the pool process died twice (the hook), the worker itself lives on with a fresh one
        assert detector.alive() and detector.children() and detector.children() != children_before
        log = detector.log_path.read_text(errors="replace")
        assert log.count("fault hook: killing this process") == 2
        # the photo went with the failure
        for url in (f"/v1/jobs/{job['id']}/overlay.png",):
            assert client.get(url).status_code == 404
        after = client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()
        assert after["status"] == "done" and len(after["result"]["faces"]) == 1


def test_the_gateway_keeps_redis_used_memory_within_the_budget(
    own_stack: Stack, own_redis: redis.Redis, astronaut_bgr: np.ndarray
) -> None:
    baseline = int(own_redis.info("memory")["used_memory"])
    budget = baseline + 8 * MIB
    gateway = own_stack.start_gateway("distributed", EMOTICON_STORE_MAX_BYTES=str(budget))
    uploads = [
        cv2.imencode(".jpg", cv2.resize(astronaut_bgr[i:, i:], (448, 448)))[1].tobytes() for i in range(30)
    ]
    peaks = []
    with gateway.client() as client:
        jobs = []
        for upload in uploads:
            job = client.post("/v1/jobs?wait=30", content=upload).json()
            assert job["status"] == "done", job
            jobs.append(job)
            peaks.append(int(own_redis.info("memory")["used_memory"]))
        alive = [client.get(job["links"]["self"]).status_code == 200 for job in jobs]
        store = client.get("/readyz").json()["checks"]["store"]
    gateway.process.stop()
    assert max(peaks) <= budget, (max(peaks) - baseline) / MIB
    assert alive[-1] and not alive[0] and alive == sorted(alive), alive
    assert store["evictions"] >= alive.count(False) and store["max_bytes"] == budget
