"""Failures the distributed mode must survive: a worker SIGKILLed mid-task, Redis restarting under it."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import redis
from integration_stack import Gateway, Processes, Stack, free_port, stack_env, wait_for_job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def slow_upload(astronaut_bgr: np.ndarray) -> bytes:
    """A 3000x3000 PNG of the astronaut (about 6 MB): decoding it keeps the detector busy for about a second."""
    big = cv2.resize(astronaut_bgr, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".png", big, [cv2.IMWRITE_PNG_COMPRESSION, 6])[1].tobytes()


def submit_and_catch_in_detector(client: httpx.Client, upload: bytes) -> str:
    """Submit ``upload`` and return its job id once the detector stage is running it."""
    response = client.post("/v1/jobs", content=upload)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "running" and job["stage"] == "detector":
            return job_id
        assert job["status"] == "queued", job
        time.sleep(0.01)
    raise AssertionError("the detector never started the job")


def test_worker_sigkilled_mid_task_job_completes_after_a_new_worker_starts(
    distributed_gateway: Gateway, stack: Stack, slow_upload: bytes
) -> None:
    with distributed_gateway.client() as client:
        job_id = submit_and_catch_in_detector(client, slow_upload)
        time.sleep(0.2)
        stack.workers["detector"].kill()  # the whole worker: main process and its pool child
        time.sleep(2.0)
        stuck = client.get(f"/v1/jobs/{job_id}").json()
        assert (stuck["status"], stuck["stage"]) == ("running", "detector")
        assert client.get("/readyz").status_code in (200, 503)  # the cached answer may lag a few seconds

        stack.start_worker("detector")
        # the message comes back once the visibility timeout (15 s here) has passed since its delivery
        job = wait_for_job(client, job_id, timeout_s=90)
        assert job["status"] == "done", job
        assert len(job["result"]["faces"]) == 1
        assert client.get(job["links"]["overlay"]).status_code == 200


def test_pool_child_killed_mid_task_is_redelivered_at_once(
    distributed_gateway: Gateway, stack: Stack, slow_upload: bytes
) -> None:
    worker = stack.workers["detector"]
    with distributed_gateway.client() as client:
        job_id = submit_and_catch_in_detector(client, slow_upload)
        children = worker.children()
        assert len(children) == 1, children
        os.kill(children[0], signal.SIGKILL)
        started = time.monotonic()
        job = wait_for_job(client, job_id, timeout_s=60)
        assert job["status"] == "done", job
        # redelivered by the surviving parent (task_reject_on_worker_lost), not after the visibility timeout
        assert time.monotonic() - started < 15
        assert worker.alive()
        assert worker.children() and worker.children() != children


class RedisServer:
    """A redis-server of this test only, with an append-only file so a restart keeps the queues."""

    def __init__(self, processes: Processes, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.processes = processes
        self.process = None

    def start(self) -> None:
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        argv += ["--appendonly", "yes", "--dir", str(self.folder)]
        self.process = self.processes.start(f"redis-{self.port}", argv, dict(os.environ))
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.stop()  # SIGTERM: redis writes its append-only file and exits


@pytest.fixture
def own_redis(processes: Processes, tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(processes, tmp_path)
    server.start()
    yield server
    server.stop()


def test_gateway_and_workers_recover_when_redis_restarts(
    processes: Processes, own_redis: RedisServer, astronaut_jpeg: bytes
) -> None:
    stack = Stack(
        processes, stack_env(f"redis://127.0.0.1:{own_redis.port}/0", f"rr-{uuid.uuid4().hex[:8]}"), "rr"
    )
    stack.start_workers()
    gateway = stack.start_gateway("distributed")
    pids = [gateway.process.pid, *(w.pid for w in stack.workers.values())]
    with gateway.client() as client:
        assert client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()["status"] == "done"

        own_redis.stop()
        time.sleep(4)  # let the readiness cache expire
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        refused = client.post("/v1/jobs", content=astronaut_jpeg)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "service_unavailable"

        own_redis.start()
        gateway.wait_ready(timeout_s=90)
        job = client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()
        assert job["status"] == "done", job
        assert len(job["result"]["faces"]) == 1
    # the very same processes did it: nothing was restarted
    assert [gateway.process.pid, *(w.pid for w in stack.workers.values())] == pids
    assert gateway.process.alive() and stack.workers_alive()
    for process in [gateway.process, *stack.workers.values()]:
        process.stop()
