"""CORS headers as a browser sees them (the browser's own enforcement: tests/browser/test_cors.py): off by
default, on for the configured origins only, and only on /v1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_clients import client_for
from fastapi.testclient import TestClient

from services.settings import Settings

ALLOWED = "http://127.0.0.1:5173"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,x-api-key",
}


@pytest.fixture
def cors_client(redis_settings: Settings) -> Iterator[TestClient]:
    with client_for(redis_settings, cors_origins=[ALLOWED], api_keys=["k"]) as client:
        yield client


def test_a_preflight_from_an_allowed_origin_is_answered(cors_client: TestClient) -> None:
    response = cors_client.options("/v1/jobs", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert response.status_code == 200  # before the API key check: preflights carry no key
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert {"POST", "GET", "DELETE"} <= set(response.headers["access-control-allow-methods"].split(", "))
    assert "x-api-key" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_responses_to_an_allowed_origin_expose_location_and_errors_carry_the_headers(
    cors_client: TestClient,
) -> None:
    response = cors_client.get("/v1/jobs/" + "0" * 32, headers={"Origin": ALLOWED, "X-API-Key": "k"})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "location" in response.headers["access-control-expose-headers"].lower()
    unauthorized = cors_client.get("/v1/jobs/" + "0" * 32, headers={"Origin": ALLOWED})
    assert unauthorized.status_code == 401 and unauthorized.headers["access-control-allow-origin"] == ALLOWED


def test_other_origins_get_no_permission(cors_client: TestClient) -> None:
    preflight = cors_client.options("/v1/jobs", headers={"Origin": "http://127.0.0.1:6666", **PREFLIGHT})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    simple = cors_client.get(
        "/v1/jobs/" + "0" * 32, headers={"Origin": "http://evil.example", "X-API-Key": "k"}
    )
    assert "access-control-allow-origin" not in simple.headers


def test_only_the_api_is_shared(cors_client: TestClient) -> None:
    for path in ("/healthz", "/metrics", "/"):
        response = cors_client.get(path, headers={"Origin": ALLOWED})
        assert "access-control-allow-origin" not in response.headers, path


def test_without_origins_nothing_is_shared(redis_settings: Settings) -> None:
    with client_for(redis_settings) as client:
        preflight = client.options("/v1/jobs", headers={"Origin": ALLOWED, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers
        assert preflight.status_code == 405


def test_origins_come_from_the_environment_as_json_or_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOTICON_CORS_ORIGINS", "https://a.example, http://127.0.0.1:3000")
    assert Settings().cors_origins == ["https://a.example", "http://127.0.0.1:3000"]
    monkeypatch.setenv("EMOTICON_CORS_ORIGINS", '["https://b.example"]')
    assert Settings().cors_origins == ["https://b.example"]
    monkeypatch.delenv("EMOTICON_CORS_ORIGINS")
    assert Settings().cors_origins == []
