"""The gateway tests' default client (``api_clients.client_for`` on the test Redis settings)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_clients import client_for
from fastapi.testclient import TestClient

from services.settings import Settings


@pytest.fixture
def client(redis_settings: Settings) -> Iterator[TestClient]:
    with client_for(redis_settings) as c:
        yield c
