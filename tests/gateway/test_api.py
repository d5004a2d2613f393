"""The HTTP API in front of a real store, without workers: jobs are accepted and queued, every rejection has
the error shape. A distributed-mode app needs no models, so these tests run fast; tests/integration runs the
same API with workers and in embedded mode."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import cv2
import numpy as np
import redis
from api_clients import client_for
from fastapi.testclient import TestClient

from services.contracts import HEAD_LABELS, FaceAttributes, HeadOutput, JobState, JobStatus
from services.settings import Settings
from services.worker import TASK_NAMES, queue_key


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def test_raw_upload_is_stored_queued_and_sent_as_a_small_message(
    client: TestClient, redis_settings: Settings, redis_db: redis.Redis, astronaut_jpeg: bytes
) -> None:
    response = client.post(
        "/v1/jobs?size=128&tone=yellow", content=astronaut_jpeg, headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    job_id = body["id"]
    assert body["status"] == "queued"
    assert response.headers["location"] == body["links"]["self"] == f"/v1/jobs/{job_id}"

    job = JobState.model_validate(client.get(f"/v1/jobs/{job_id}").json())
    assert job.status == JobStatus.queued and job.options.size == 128 and job.options.tone == "yellow"
    assert redis_db.get(f"{redis_settings.key_prefix}:img:{job_id}") == astronaut_jpeg

    # the chain's first message waits in the detector queue and carries the job id, not the pixels
    messages = redis_db.lrange(queue_key(redis_settings, "detector"), 0, -1)
    assert len(messages) == 1
    message = json.loads(messages[0])
    assert message["headers"]["task"] == TASK_NAMES["detector"]
    assert job_id in json.dumps(message["headers"]["argsrepr"])
    assert len(messages[0]) < 4096 < len(astronaut_jpeg)


def test_multipart_upload_is_accepted(
    client: TestClient, redis_settings: Settings, redis_db: redis.Redis, astronaut_jpeg: bytes
) -> None:
    response = client.post("/v1/jobs", files={"file": ("me.jpg", astronaut_jpeg, "image/jpeg")})
    assert response.status_code == 202, response.text
    assert redis_db.get(f"{redis_settings.key_prefix}:img:{response.json()['id']}") == astronaut_jpeg


def test_multipart_without_a_file_field_is_rejected(client: TestClient, astronaut_jpeg: bytes) -> None:
    response = client.post("/v1/jobs", files={"photo": ("me.jpg", astronaut_jpeg, "image/jpeg")})
    assert_error(response, 422, "invalid_request")


def test_a_full_queue_answers_429_with_retry_after(redis_settings: Settings, astronaut_jpeg: bytes) -> None:
    with client_for(redis_settings.model_copy(update={"max_queue_depth": 2})) as c:
        statuses = [c.post("/v1/jobs", content=astronaut_jpeg).status_code for _ in range(2)]
        assert statuses == [202, 202]
        response = c.post("/v1/jobs", content=astronaut_jpeg)
        assert_error(response, 429, "overloaded")
        assert int(response.headers["retry-after"]) > 0


def test_api_keys_are_required_when_configured(redis_settings: Settings, astronaut_jpeg: bytes) -> None:
    with client_for(redis_settings.model_copy(update={"api_keys": ["k-one", "k-two"]})) as c:
        assert_error(c.post("/v1/jobs", content=astronaut_jpeg), 401, "unauthorized")
        assert_error(
            c.post("/v1/jobs", content=astronaut_jpeg, headers={"X-API-Key": "k-three"}), 401, "unauthorized"
        )
        assert_error(c.get("/v1/jobs/" + "0" * 32), 401, "unauthorized")
        accepted = c.post("/v1/jobs", content=astronaut_jpeg, headers={"X-API-Key": "k-two"})
        assert accepted.status_code == 202
        assert c.get(accepted.headers["location"], headers={"X-API-Key": "k-one"}).status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open


def test_options_out_of_range_are_422(
    client: TestClient, astronaut_jpeg: bytes, redis_settings: Settings
) -> None:
    for query in (
        "size=15",
        "size=1025",
        "size=big",
        "tone=purple",
        "wait=-1",
        f"wait={redis_settings.max_wait_s + 1}",
    ):
        assert_error(client.post(f"/v1/jobs?{query}", content=astronaut_jpeg), 422, "invalid_request")


def test_bodies_over_the_limit_are_413_also_when_chunked(
    redis_settings: Settings, astronaut_jpeg: bytes
) -> None:
    limit = len(astronaut_jpeg) - 1
    pulled = 0

    def chunks() -> Iterator[bytes]:
        nonlocal pulled
        for start in range(0, len(astronaut_jpeg), 4096):
            pulled += 1
            yield astronaut_jpeg[start : start + 4096]

    with client_for(redis_settings.model_copy(update={"max_upload_bytes": limit})) as c:
        assert_error(c.post("/v1/jobs", content=astronaut_jpeg), 413, "payload_too_large")
        assert_error(c.post("/v1/jobs", files={"file": ("a.jpg", astronaut_jpeg)}), 413, "payload_too_large")
        response = c.post("/v1/jobs", content=chunks())  # no Content-Length: counted while streaming
        assert_error(response, 413, "payload_too_large")


def test_not_an_image_and_unsupported_types(client: TestClient) -> None:
    assert_error(client.post("/v1/jobs", content=b""), 400, "empty_upload")
    assert_error(client.post("/v1/jobs", content=b"hello, not an image"), 400, "invalid_image")
    assert_error(client.post("/v1/jobs", content=b"GIF89a" + bytes(40)), 415, "unsupported_media_type")


def test_unknown_jobs_routes_and_methods_are_json_404_405(client: TestClient) -> None:
    assert_error(client.get("/v1/jobs/" + "a" * 32), 404, "not_found")
    assert_error(client.get("/v1/jobs/not-a-job-id"), 404, "not_found")
    assert_error(client.get("/v1/jobs/" + "a" * 32 + "/faces/0.svg"), 404, "not_found")
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(client.delete("/v1/jobs"), 405, "method_not_allowed")


def test_renders_of_an_unfinished_job_are_not_ready(client: TestClient, astronaut_jpeg: bytes) -> None:
    job_id = client.post("/v1/jobs", content=astronaut_jpeg).json()["id"]
    assert_error(client.get(f"/v1/jobs/{job_id}/overlay.png"), 404, "not_ready")


def attributes_from_vocabularies() -> FaceAttributes:
    """Attributes with the second label of every head winning (probabilities over the real vocabularies)."""
    heads = {}
    for head, labels in HEAD_LABELS.items():
        probabilities = {label: 0.1 / (len(labels) - 1) for label in labels}
        probabilities[labels[1]] = 0.9
        heads[head] = HeadOutput(label=labels[1], probabilities=probabilities)
    return FaceAttributes(**heads)


def test_render_returns_svg_png_and_json(client: TestClient) -> None:
    attributes = attributes_from_vocabularies().model_dump(mode="json")
    svg = client.post("/v1/render", json={"attributes": attributes, "options": {"size": 64}, "format": "svg"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(svg.content).tag.endswith("svg")

    png = client.post(
        "/v1/render",
        json={"attributes": attributes, "options": {"size": 64, "tone": "dark"}, "format": "png"},
    )
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape[:2] == (64, 64)

    as_json = client.post("/v1/render", json={"attributes": attributes, "format": "json"}).json()
    assert as_json["emoji"] and as_json["svg"].lstrip().startswith(("<svg", "<?xml"))

    assert_error(client.post("/v1/render", json={"attributes": {}, "format": "svg"}), 422, "invalid_request")
    assert_error(
        client.post("/v1/render", json={"attributes": attributes, "format": "gif"}), 422, "invalid_request"
    )
    assert_error(
        client.post("/v1/render", content=b"{not json", headers={"Content-Type": "application/json"}), 422
    )


def test_readyz_is_503_without_workers_and_healthz_200(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] == "ok"
    assert ready.json()["checks"]["workers"] == {"detector": 0, "classifier": 0, "composer": 0}
    assert client.get("/healthz").json() == {"status": "ok"}


def test_metrics_count_routes_and_read_queue_depth(client: TestClient, astronaut_jpeg: bytes) -> None:
    client.post("/v1/jobs", content=astronaut_jpeg)
    client.get("/v1/jobs/" + "b" * 32)
    text = client.get("/metrics").text
    assert 'emoticon_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="404"} 1.0' in text
    assert 'emoticon_http_requests_total{method="POST",route="/v1/jobs",status="202"} 1.0' in text
    assert 'emoticon_queue_depth{queue="detector"} 1.0' in text
    assert 'emoticon_stage_duration_seconds_count{stage="detector"}' in text


def test_openapi_documents_the_api(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/render", "/v1/jobs/{job_id}/overlay.png"} <= set(paths)
    assert "multipart/form-data" in paths["/v1/jobs"]["post"]["requestBody"]["content"]


def test_the_web_page_and_its_assets_are_served(client: TestClient) -> None:
    from gateway.app import STATIC_DIR

    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.content == (STATIC_DIR / "index.html").read_bytes()
    assets = sorted(p.name for p in STATIC_DIR.iterdir() if p.suffix in {".js", ".css"})
    assert assets
    for name in assets:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.content == (STATIC_DIR / name).read_bytes()
    assert_error(client.get("/static/no-such-file.js"), 404, "not_found")
