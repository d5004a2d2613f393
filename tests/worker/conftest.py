"""Fixtures for the store and worker tests: the real Redis at 127.0.0.1:6379, database 15, one key prefix
per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from services.settings import Settings

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
