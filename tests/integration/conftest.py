"""Session fixtures of the integration tests: Redis database 15 (flushed), workers and gateways (see
``integration_stack``), all stopped at the end of the session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from integration_stack import TEST_REDIS_URL, Gateway, Processes, Stack, stack_env


@pytest.fixture(scope="session")
def redis_db15() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("integration tests need Redis at 127.0.0.1:6379 (test.sh starts it)")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="session")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    registry = Processes(tmp_path_factory.mktemp("service-logs"))
    yield registry
    registry.stop_all()


@pytest.fixture(scope="session")
def stack(processes: Processes, redis_db15: redis.Redis) -> Stack:
    """Workers for every stage on database 15, started once per session."""
    stack = Stack(processes, stack_env(TEST_REDIS_URL, f"it-{uuid.uuid4().hex[:8]}"), "main")
    stack.start_workers()
    return stack


@pytest.fixture(scope="session")
def distributed_gateway(stack: Stack) -> Gateway:
    return stack.start_gateway("distributed")


@pytest.fixture(scope="session")
def embedded_gateway(stack: Stack) -> Gateway:
    return stack.start_gateway("embedded")


@pytest.fixture(scope="session", params=["embedded", "distributed"])
def gateway(request: pytest.FixtureRequest) -> Gateway:
    """The same API suite runs against both modes."""
    return request.getfixturevalue(f"{request.param}_gateway")
