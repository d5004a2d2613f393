"""POST /v1/batches and its limits in front of a real store, without workers (jobs stay queued): what is
accepted, what is refused whole, what fails alone. tests/integration/test_batches.py runs batches to the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from api_clients import client_for
from fastapi.testclient import TestClient

from services.settings import Settings
from services.worker import queue_key


@pytest.fixture
def client(redis_settings: Settings) -> Iterator[TestClient]:
    with client_for(
        redis_settings, batch_max_files=4, max_upload_bytes=200_000, batch_max_bytes=600_000
    ) as c:
        yield c


def parts(*files: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in files]


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_batch_queues_one_job_per_good_file_and_fails_bad_ones_alone(
    client: TestClient, redis_settings: Settings, redis_db: redis.Redis, astronaut_jpeg: bytes
) -> None:
    response = client.post(
        "/v1/batches?size=64&tone=yellow",
        files=parts(
            ("a.jpg", astronaut_jpeg),
            ("empty.jpg", b""),
            ("big.jpg", b"\xff" * 200_001),
            ("b.jpg", astronaut_jpeg),
        ),
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert response.headers["location"] == created["links"]["self"] == f"/v1/batches/{created['id']}"
    assert created["total"] == 4 and created["counts"] == {"queued": 2, "running": 0, "done": 0, "failed": 2}
    assert created["status"] == "queued"

    view = client.get(created["links"]["self"]).json()
    assert [i["filename"] for i in view["items"]] == ["a.jpg", "empty.jpg", "big.jpg", "b.jpg"]
    assert [i["error"]["code"] if i["error"] else None for i in view["items"]] == [
        None,
        "empty_upload",
        "payload_too_large",
        None,
    ]
    jobs = [client.get(i["links"]["job"]).json() for i in view["items"] if i["links"]["job"]]
    assert [(j["status"], j["batch_id"], j["options"]["size"], j["options"]["tone"]) for j in jobs] == [
        ("queued", created["id"], 64, "yellow")
    ] * 2
    assert redis_db.llen(queue_key(redis_settings, "detector")) == 2

    # only the refused items are finished so far; the stream stops at the first unfinished one
    lines = client.get(f"{created['links']['results']}?start=1").text.splitlines()
    assert len(lines) == 2 and '"empty_upload"' in lines[0] and '"payload_too_large"' in lines[1]
    assert client.get(created["links"]["results"]).text == ""


def test_limits_refuse_the_whole_batch(client: TestClient, astronaut_jpeg: bytes) -> None:
    small = astronaut_jpeg[:1000]
    assert (
        error_of(client.post("/v1/batches", files=parts(*[("x.jpg", small)] * 5)), 413)["code"]
        == "too_many_files"
    )
    body = parts(*[("x.jpg", b"\xff" * 190_000)] * 4)
    assert error_of(client.post("/v1/batches", files=body), 413)["code"] == "batch_too_large"
    assert (
        error_of(client.post("/v1/batches", content=astronaut_jpeg), 415)["code"] == "unsupported_media_type"
    )
    assert (
        error_of(client.post("/v1/batches", files={"other": ("x.jpg", small)}), 422)["code"]
        == "invalid_request"
    )
    assert (
        error_of(client.post("/v1/batches?size=2", files=parts(("x.jpg", small))), 422)["code"]
        == "invalid_request"
    )


def test_unknown_batches_and_result_waits_beyond_the_limit(client: TestClient, astronaut_jpeg: bytes) -> None:
    assert error_of(client.get("/v1/batches/" + "0" * 32), 404)["code"] == "not_found"
    assert error_of(client.get("/v1/batches/nope/results"), 404)["code"] == "not_found"
    created = client.post("/v1/batches", files=parts(("a.jpg", astronaut_jpeg))).json()
    assert error_of(client.get(f"{created['links']['results']}?wait=31"), 422)["code"] == "invalid_request"


def test_callback_urls_are_checked_before_anything_is_stored(
    redis_settings: Settings, redis_db: redis.Redis, astronaut_jpeg: bytes
) -> None:
    with client_for(redis_settings) as client:  # no webhook secret: webhooks are off
        response = client.post(
            "/v1/batches?callback_url=https://93.184.215.14/h", files=parts(("a.jpg", astronaut_jpeg))
        )
        assert error_of(response, 422)["code"] == "webhooks_disabled"
    with client_for(redis_settings, webhook_secret="k") as client:
        for url in ("http://10.0.0.8/hook", "http://169.254.169.254/", "http://127.0.0.1:1/"):
            for path in ("/v1/batches", "/v1/jobs"):
                response = client.post(f"{path}?callback_url={url}", files=parts(("a.jpg", astronaut_jpeg)))
                assert error_of(response, 422)["code"] == "callback_refused", (path, url)
    assert list(redis_db.scan_iter(match=f"{redis_settings.key_prefix}:*")) == []
