"""Job data through the HTTP API, without workers (jobs stay queued): DELETE, the byte budget's 503, the fill
level in /readyz and /metrics, the new input checks."""

from __future__ import annotations

import cv2
import numpy as np
import redis
from api_clients import client_for
from fastapi.testclient import TestClient

from services.budget import job_footprint
from services.settings import Settings


def job_keys_in_redis(redis_db: redis.Redis, prefix: str, job_id: str) -> list[bytes]:
    return [k for k in redis_db.scan_iter(match=f"{prefix}:*", count=1000) if job_id.encode() in k]


def test_delete_removes_a_job_at_once_and_is_idempotent(
    client: TestClient, redis_settings: Settings, redis_db: redis.Redis, astronaut_jpeg: bytes
) -> None:
    job_id = client.post("/v1/jobs", content=astronaut_jpeg).json()["id"]
    assert job_keys_in_redis(redis_db, redis_settings.key_prefix, job_id)  # state and upload
    response = client.delete(f"/v1/jobs/{job_id}")
    assert response.status_code == 204 and response.content == b""
    assert job_keys_in_redis(redis_db, redis_settings.key_prefix, job_id) == []
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204  # again: the same answer
    assert client.delete("/v1/jobs/" + "f" * 32).status_code == 204  # never existed: nothing to delete
    malformed = client.delete("/v1/jobs/not-a-job")
    assert malformed.status_code == 404 and malformed.json()["error"]["code"] == "not_found"


def test_delete_needs_the_api_key_when_keys_are_set(redis_settings: Settings, astronaut_jpeg: bytes) -> None:
    with client_for(redis_settings.model_copy(update={"api_keys": ["k"]})) as c:
        job_id = c.post("/v1/jobs", content=astronaut_jpeg, headers={"X-API-Key": "k"}).json()["id"]
        assert c.delete(f"/v1/jobs/{job_id}").status_code == 401
        assert c.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": "k"}).status_code == 200
        assert c.delete(f"/v1/jobs/{job_id}", headers={"X-API-Key": "k"}).status_code == 204


def own_redis_settings(own_redis: redis.Redis, **updates) -> Settings:
    port = own_redis.connection_pool.connection_kwargs["port"]
    return Settings(redis_url=f"redis://127.0.0.1:{port}/0", key_prefix="gw-budget", **updates)


def test_unfinished_jobs_filling_the_budget_get_503_store_full(
    own_redis: redis.Redis, astronaut_jpeg: bytes, astronaut_bgr: np.ndarray
) -> None:
    own_redis.flushall()
    footprint = job_footprint(len(astronaut_jpeg), astronaut_bgr.nbytes)
    used = int(own_redis.info("memory")["used_memory"])
    # room for two queued jobs (each counted by its upload in used_memory and by its reservation)
    settings = own_redis_settings(
        own_redis, store_max_bytes=used + 2 * footprint + 4 * len(astronaut_jpeg) + 2**20
    )
    with client_for(settings) as c:
        statuses = [c.post("/v1/jobs", content=astronaut_jpeg).status_code for _ in range(2)]
        assert statuses == [202, 202]
        refused = c.post("/v1/jobs", content=astronaut_jpeg)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "store_full"
        assert int(refused.headers["retry-after"]) >= 1
        assert "EMOTICON_STORE_MAX_BYTES" in refused.json()["error"]["message"]
        store = c.get("/readyz").json()["checks"]["store"]
        assert store["unfinished_jobs"] == 2 and store["max_bytes"] == settings.store_max_bytes
        assert 0.5 < store["fill"] <= 1.0
        text = c.get("/metrics").text
        assert 'emoticon_store_jobs{state="unfinished"} 2.0' in text
        (line,) = [x for x in text.splitlines() if x.startswith("emoticon_store_max_bytes ")]
        assert float(line.split()[-1]) == settings.store_max_bytes


def test_a_photo_bigger_than_the_whole_budget_is_413(redis_settings: Settings, astronaut_jpeg: bytes) -> None:
    with client_for(redis_settings.model_copy(update={"store_max_bytes": 100_000})) as c:
        response = c.post("/v1/jobs", content=astronaut_jpeg)
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_readyz_reports_the_store_and_the_redis_memory_settings(client: TestClient) -> None:
    checks = client.get("/readyz").json()["checks"]
    assert set(checks["store"]) >= {"used_bytes", "reserved_bytes", "max_bytes", "fill", "evictions"}
    assert checks["store"]["used_bytes"] > 0  # Redis used_memory
    memory = checks["redis_memory"]
    assert set(memory) == {"maxmemory", "policy", "problems"}


def test_an_evicting_redis_policy_makes_the_gateway_unready(own_redis: redis.Redis) -> None:
    own_redis.config_set("maxmemory", str(2 * 1024**3))
    own_redis.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with client_for(own_redis_settings(own_redis)) as c:
            ready = c.get("/readyz")
            assert ready.status_code == 503
            (problem,) = ready.json()["checks"]["redis_memory"]["problems"]
            assert "allkeys-lru" in problem and "noeviction" in problem
    finally:
        own_redis.config_set("maxmemory", "0")
        own_redis.config_set("maxmemory-policy", "noeviction")


def test_extreme_shapes_are_422_with_a_clear_code(client: TestClient) -> None:
    thin = cv2.imencode(".png", np.zeros((2000, 40, 3), np.uint8))[1].tobytes()
    tiny = cv2.imencode(".png", np.zeros((12, 12, 3), np.uint8))[1].tobytes()
    for data, code in ((thin, "extreme_aspect_ratio"), (tiny, "image_too_small")):
        response = client.post("/v1/jobs", content=data)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == code
