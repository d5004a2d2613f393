"""Shared fixtures: real photos only (scikit-image's astronaut, the shared datasets)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis

from services.settings import Settings
from training.data import DATASETS_DIR

DATASETS = DATASETS_DIR


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """A real 512x512 photo with one face: HxWx3 uint8 BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut_bgr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", astronaut_bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not (DATASETS / "fer2013.zip").exists():
        pytest.fail(f"datasets missing at {DATASETS}: tests need ../shared/datasets beside the repository")
    return DATASETS


# Real Redis at 127.0.0.1:6379, database 15, one key prefix per test (store, worker and gateway tests).
TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("these tests need Redis at 127.0.0.1:6379 (test.sh starts it)")
    return client


@pytest.fixture
def redis_settings(redis_db: redis.Redis) -> Iterator[Settings]:
    """Settings on database 15 with a key prefix of this test only; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield Settings(redis_url=TEST_REDIS_URL, key_prefix=prefix, job_ttl_s=60)
    keys = list(redis_db.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_db.delete(*keys)


@pytest.fixture(scope="session")
def own_redis() -> Iterator[redis.Redis]:
    """A redis-server of this test session only (no persistence), for tests that read server-wide figures such
    as ``used_memory`` or change its configuration; tests using it flush it first."""
    import socket
    import subprocess
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield client
    process.terminate()
    process.wait(10)
