"""A TestClient over the real app in distributed mode, on the test Redis (the gateway tests' one way to get one)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gateway.app import create_app
from services.settings import Settings


def client_for(settings: Settings, **updates: object) -> TestClient:
    """``settings`` with ``updates`` applied, in distributed mode; server exceptions become 500 responses."""
    app = create_app(settings.model_copy(update={"mode": "distributed", **updates}))
    return TestClient(app, raise_server_exceptions=False)
