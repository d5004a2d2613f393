"""Limits configured on the gateway, in both modes: API keys, the queue-depth flood guard, the job TTL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import redis
from integration_stack import Gateway, Stack, wait_for_job

pytestmark = pytest.mark.integration

API_KEY = "it-secret-key"
TTL_S = 8


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def limited_gateway(request: pytest.FixtureRequest, stack: Stack) -> Gateway:
    """A gateway with an API key, a queue limit of 1 and a 6 s job lifetime, sharing the session's workers."""
    gateway = stack.start_gateway(
        request.param,
        EMOTICON_API_KEYS=f'["{API_KEY}"]',
        EMOTICON_MAX_QUEUE_DEPTH="1",
        EMOTICON_JOB_TTL_S=str(TTL_S),
    )
    yield gateway
    gateway.process.stop()


def test_api_key_is_required(limited_gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with limited_gateway.client() as client:
        for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}):
            response = client.post("/v1/jobs", content=astronaut_jpeg, headers=headers)
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
        job = client.post("/v1/jobs?wait=20", content=astronaut_jpeg, headers={"X-API-Key": API_KEY}).json()
        assert job["status"] == "done"
        face_svg = job["links"]["faces"][0]["svg"]
        assert client.get(face_svg).status_code == 401
        assert client.get(face_svg, headers={"X-API-Key": API_KEY}).status_code == 200
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200


def test_flood_gets_429_with_retry_after(limited_gateway: Gateway, astronaut_bgr: np.ndarray) -> None:
    import cv2

    upload = cv2.imencode(".jpg", cv2.resize(astronaut_bgr, (1200, 1200)))[1].tobytes()
    with limited_gateway.client(headers={"X-API-Key": API_KEY}) as client:
        with ThreadPoolExecutor(max_workers=12) as pool:
            responses = list(pool.map(lambda _: client.post("/v1/jobs", content=upload), range(12)))
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {202, 429}, statuses
        refused = [r for r in responses if r.status_code == 429]
        assert refused, statuses
        for response in refused:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["code"] == "overloaded"
        accepted = [r.json()["id"] for r in responses if r.status_code == 202]
        assert accepted
        assert all(wait_for_job(client, job_id, timeout_s=TTL_S)["status"] == "done" for job_id in accepted)


def test_expired_job_is_404(
    limited_gateway: Gateway, astronaut_jpeg: bytes, redis_db15: redis.Redis, stack: Stack
) -> None:
    with limited_gateway.client(headers={"X-API-Key": API_KEY}) as client:
        job = client.post("/v1/jobs?wait=5", content=astronaut_jpeg).json()
        assert job["status"] == "done"
        assert client.get(job["links"]["overlay"]).status_code == 200
        time.sleep(max(0.0, job["created_at"] + TTL_S + 0.3 - time.time()))
        for url in (job["links"]["self"], job["links"]["overlay"], job["links"]["faces"][0]["png"]):
            response = client.get(url)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", url
    if limited_gateway.mode == "distributed":
        # nothing of the job is left in Redis
        prefix = stack.env["EMOTICON_KEY_PREFIX"]
        assert not list(redis_db15.scan_iter(match=f"{prefix}:*{job['id']}*"))
