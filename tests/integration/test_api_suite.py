"""The API suite, run against the embedded gateway AND the distributed one (gateway + one worker per stage)."""

from __future__ import annotations

import hashlib
import re
import socket
import sys
import xml.etree.ElementTree as ET
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis
from integration_stack import Gateway, Stack, wait_for_job

from services.composer import render_png
from services.contracts import FaceAttributes, RenderOptions

pytestmark = pytest.mark.integration


def decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None, "not a PNG"
    return image


def test_astronaut_runs_through_every_stage(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with gateway.client() as client:
        response = client.post(
            "/v1/jobs?size=96&wait=30", content=astronaut_jpeg, headers={"Content-Type": "image/jpeg"}
        )
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["status"] == "done", job
        assert response.headers["location"] == f"/v1/jobs/{job['id']}"
        result = job["result"]
        assert result["image"]["sha256"] == hashlib.sha256(astronaut_jpeg).hexdigest()
        assert (result["image"]["width"], result["image"]["height"]) == (512, 512)
        assert len(result["faces"]) == 1
        face = result["faces"][0]
        # the astronaut's face is in the upper middle of the photo
        assert 0.3 < face["box"]["relative"]["x"] + face["box"]["relative"]["width"] / 2 < 0.7
        assert face["box"]["relative"]["y"] < 0.5
        assert set(result["timings_ms"]) == {"detector", "classifier", "composer"}

        links = job["links"]
        svg = client.get(links["faces"][0]["svg"])
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert ET.fromstring(svg.content).tag.endswith("svg")
        png = client.get(links["faces"][0]["png"])
        assert png.status_code == 200 and decode_png(png.content).shape[:2] == (96, 96)
        overlay = client.get(links["overlay"])
        assert overlay.status_code == 200 and decode_png(overlay.content).shape[:2] == (512, 512)
        assert client.get(f"/v1/jobs/{job['id']}/faces/1.svg").status_code == 404

        # the same job, polled without wait, reads the same
        assert client.get(links["self"]).json() == job


def test_svg_only_jobs_skip_the_rasters(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with gateway.client() as client:
        response = client.post("/v1/jobs?wait=30&renders=svg", content=astronaut_jpeg)
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["status"] == "done" and job["options"]["renders"] == "svg"
        (face_links,) = job["links"]["faces"]
        assert face_links["png"] is None and job["links"]["overlay"] is None
        assert client.get(face_links["svg"]).status_code == 200
        assert client.get(f"/v1/jobs/{job['id']}/faces/0.png").status_code == 404
        assert client.get(f"/v1/jobs/{job['id']}/overlay.png").status_code == 404


def test_face_pngs_are_drawn_on_their_first_get_and_kept_with_the_job(
    gateway: Gateway, stack: Stack, redis_db15: redis.Redis, astronaut_jpeg: bytes
) -> None:
    """The composer stores the SVGs and the overlay; a face PNG is drawn when first fetched (several fetches at
    once included), then kept until the job's expiry and deleted with the job. Distributed: seen in Redis."""
    prefix = stack.env["EMOTICON_KEY_PREFIX"]
    with gateway.client() as client:
        job = client.post("/v1/jobs?size=72&tone=dark&wait=30", content=astronaut_jpeg).json()
        assert job["status"] == "done", job
        png_url = job["links"]["faces"][0]["png"]
        files, job_key = f"{prefix}:file:{job['id']}", f"{prefix}:job:{job['id']}"
        png_key = f"{files}:faces/0.png"
        if gateway.mode == "distributed":
            assert redis_db15.exists(f"{files}:faces/0.svg", f"{files}:overlay.png") == 2
            assert not redis_db15.exists(png_key), "the composer drew a face PNG nobody asked for"

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(lambda _: client.get(png_url), range(8)))
        assert {r.status_code for r in responses} == {200}
        assert {r.headers["content-type"] for r in responses} == {"image/png"}
        assert len({r.content for r in responses}) == 1
        attributes = FaceAttributes.model_validate(job["result"]["faces"][0]["attributes"])
        assert responses[0].content == render_png(attributes, RenderOptions.model_validate(job["options"]))
        assert decode_png(responses[0].content).shape == (72, 72, 4)
        if gateway.mode == "distributed":
            assert redis_db15.get(png_key) == responses[0].content
            assert redis_db15.pexpiretime(png_key) == redis_db15.pexpiretime(job_key) > 0
        assert client.get(png_url).content == responses[0].content
        assert client.get(f"/v1/jobs/{job['id']}/faces/1.png").status_code == 404

        assert client.delete(job["links"]["self"]).status_code == 204
        assert client.get(png_url).status_code == 404
        if gateway.mode == "distributed":
            assert not redis_db15.exists(png_key)


def test_multipart_upload_and_polling(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with gateway.client() as client:
        response = client.post(
            "/v1/jobs?tone=yellow", files={"file": ("astronaut.jpg", astronaut_jpeg, "image/jpeg")}
        )
        assert response.status_code == 202, response.text
        created = response.json()
        assert created["status"] == "queued" and created["links"]["self"] == response.headers["location"]
        job = wait_for_job(client, created["id"])
        assert job["status"] == "done" and job["options"] == {"size": 256, "tone": "yellow", "renders": "all", "frame": "auto"}
        assert len(job["result"]["faces"]) == 1


def variants(photo: np.ndarray, n: int) -> list[bytes]:
    """``n`` different real uploads: the photo mirrored, scaled and re-encoded."""
    out = []
    for i in range(n):
        image = photo[:, ::-1] if i % 2 else photo
        side = 384 + 32 * i
        image = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg" if i % 3 else ".png", image)
        assert ok
        out.append(buf.tobytes())
    return out


def test_concurrent_jobs_all_finish(gateway: Gateway, astronaut_bgr: np.ndarray) -> None:
    uploads = variants(astronaut_bgr, 8)
    with gateway.client() as client:

        def submit(data: bytes) -> dict:
            response = client.post("/v1/jobs", content=data)
            assert response.status_code == 202, response.text
            return wait_for_job(client, response.json()["id"], timeout_s=120)

        with ThreadPoolExecutor(max_workers=8) as pool:
            jobs = list(pool.map(submit, uploads))
    assert [job["status"] for job in jobs] == ["done"] * 8
    assert [job["result"]["image"]["sha256"] for job in jobs] == [
        hashlib.sha256(u).hexdigest() for u in uploads
    ]
    assert all(len(job["result"]["faces"]) == 1 for job in jobs)
    assert len({job["id"] for job in jobs}) == 8


def test_metrics_report_requests_stages_and_queues(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with gateway.client() as client:
        assert client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()["status"] == "done"
        text = client.get("/metrics").text
    for stage in ("detector", "classifier", "composer"):
        count = next(
            line
            for line in text.splitlines()
            if line.startswith(f'emoticon_stage_duration_seconds_count{{stage="{stage}"}}')
        )
        assert float(count.split()[-1]) >= 1
    assert 'emoticon_http_requests_total{method="POST",route="/v1/jobs",status="200"}' in text
    assert "emoticon_queue_depth{" in text


def png_with_broken_body(width: int, height: int) -> bytes:
    """A valid PNG header (``width`` x ``height`` RGB) whose pixel data is not a deflate stream."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"broken body") + chunk(b"IEND", b"")
    )


# A Python object's repr (``<_io.BytesIO object at 0x7f...>``) or a raw address: never in a message for people.
REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>|0x[0-9a-fA-F]{6,}")


def bad_requests(photo: np.ndarray, astronaut_jpeg: bytes, max_upload: int) -> list[tuple[str, dict]]:
    """(what, httpx request kwargs incl. method and url): uploads and requests the API must refuse with 4xx."""
    png = cv2.imencode(".png", photo)[1].tobytes()
    webp = cv2.imencode(".webp", photo)[1].tobytes()
    bmp = cv2.imencode(".bmp", photo)[1].tobytes()
    tiny = cv2.imencode(".png", np.zeros((2, 2, 3), np.uint8))[1].tobytes()
    bomb = cv2.imencode(".png", np.zeros((7000, 7000), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])[
        1
    ].tobytes()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    elf = Path(sys.executable).resolve().read_bytes()[:4096]
    post = {"method": "POST", "url": "/v1/jobs"}
    cases: list[tuple[str, dict]] = [
        ("zero bytes", {**post, "content": b""}),
        ("plain text", {**post, "content": b"hello, I am not a photo"}),
        ("html", {**post, "content": b"<!doctype html><html><body>hi</body></html>"}),
        (
            "json",
            {
                **post,
                "content": b'{"image": "astronaut.jpg"}',
                "headers": {"Content-Type": "application/json"},
            },
        ),
        ("pdf", {**post, "content": b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"}),
        ("zip", {**post, "content": b"PK\x03\x04" + bytes(100)}),
        ("gzip", {**post, "content": b"\x1f\x8b\x08\x00" + bytes(100)}),
        ("elf binary", {**post, "content": elf}),
        ("random noise", {**post, "content": noise}),
        ("jpeg magic then noise", {**post, "content": b"\xff\xd8\xff\xe0" + noise}),
        ("png signature only", {**post, "content": b"\x89PNG\r\n\x1a\n"}),
        ("jpeg header only", {**post, "content": astronaut_jpeg[:200]}),
        ("truncated jpeg", {**post, "content": astronaut_jpeg[: len(astronaut_jpeg) // 2]}),
        ("truncated png", {**post, "content": png[: len(png) // 2]}),
        ("truncated webp", {**post, "content": webp[: len(webp) // 3]}),
        ("truncated bmp", {**post, "content": bmp[:1000]}),
        ("png missing IEND and data", {**post, "content": png[:60]}),
        ("gif", {**post, "content": b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(20)}),
        ("tiff", {**post, "content": b"II*\x00\x08\x00\x00\x00" + bytes(50)}),
        ("svg", {**post, "content": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'}),
        ("ico", {**post, "content": b"\x00\x00\x01\x00\x01\x00" + bytes(40)}),
        ("psd", {**post, "content": b"8BPS\x00\x01" + bytes(40)}),
        ("heic", {**post, "content": b"\x00\x00\x00\x18ftypheic" + bytes(40)}),
        ("huge dimensions (decompression bomb)", {**post, "content": bomb}),
        ("oversized body", {**post, "content": astronaut_jpeg * (max_upload // len(astronaut_jpeg) + 1)}),
        (
            "oversized multipart",
            {**post, "files": {"file": ("big.jpg", b"\xff\xd8\xff" + bytes(max_upload + 1))}},
        ),
        (
            "multipart without file field",
            {**post, "files": {"image": ("a.jpg", astronaut_jpeg, "image/jpeg")}},
        ),
        ("multipart with empty file", {**post, "files": {"file": ("a.jpg", b"", "image/jpeg")}}),
        (
            "multipart text named .jpg",
            {**post, "files": {"file": ("photo.jpg", b"not a jpeg", "image/jpeg")}},
        ),
        (
            "multipart header without boundary",
            {**post, "content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
        ),
        ("size too small", {"method": "POST", "url": "/v1/jobs?size=8", "content": tiny}),
        ("size too large", {"method": "POST", "url": "/v1/jobs?size=4096", "content": tiny}),
        ("size not a number", {"method": "POST", "url": "/v1/jobs?size=large", "content": tiny}),
        ("unknown tone", {"method": "POST", "url": "/v1/jobs?tone=green", "content": tiny}),
        ("negative wait", {"method": "POST", "url": "/v1/jobs?wait=-3", "content": tiny}),
        ("wait beyond the limit", {"method": "POST", "url": "/v1/jobs?wait=100000", "content": tiny}),
        ("unknown job id", {"method": "GET", "url": "/v1/jobs/" + "0" * 32}),
        ("malformed job id", {"method": "GET", "url": "/v1/jobs/..%2F..%2Fetc"}),
        ("render of unknown job", {"method": "GET", "url": "/v1/jobs/" + "1" * 32 + "/faces/0.svg"}),
        ("overlay of unknown job", {"method": "GET", "url": "/v1/jobs/" + "2" * 32 + "/overlay.png"}),
        ("face index not a number", {"method": "GET", "url": "/v1/jobs/" + "3" * 32 + "/faces/x.png"}),
        ("unknown route", {"method": "GET", "url": "/v1/photos"}),
        ("wrong method", {"method": "PUT", "url": "/v1/jobs"}),
        ("delete a malformed job id", {"method": "DELETE", "url": "/v1/jobs/not-a-job"}),
        ("1x200000 png with a broken body", {**post, "content": png_with_broken_body(1, 200_000)}),
        ("30:1 strip", {**post, "content": cv2.imencode(".png", cv2.resize(photo, (900, 30)))[1].tobytes()}),
        ("smaller than a face", {**post, "content": cv2.imencode(".png", photo[:12, :12])[1].tobytes()}),
        ("render without attributes", {"method": "POST", "url": "/v1/render", "json": {"format": "svg"}}),
        (
            "render unknown format",
            {"method": "POST", "url": "/v1/render", "json": {"attributes": {}, "format": "gif"}},
        ),
        (
            "render not json",
            {
                "method": "POST",
                "url": "/v1/render",
                "content": b"\x00\x01",
                "headers": {"Content-Type": "application/json"},
            },
        ),
    ]
    return cases


def test_bad_inputs_get_4xx_json_and_break_nothing(
    gateway: Gateway, stack: Stack, astronaut_bgr: np.ndarray, astronaut_jpeg: bytes
) -> None:
    cases = bad_requests(astronaut_bgr, astronaut_jpeg, 8 * 1024 * 1024)
    assert len(cases) >= 40
    failures = []
    with gateway.client() as client:
        for what, request in cases:
            response = client.request(**request)
            try:
                body = response.json()
                ok = 400 <= response.status_code < 500 and set(body) == {"error"} and body["error"]["code"]
                ok = ok and not REPR.search(body["error"]["message"])
            except ValueError:
                ok = False
            if not ok:
                failures.append(f"{what}: {response.status_code} {response.text[:120]}")
        assert not failures, "\n".join(failures)
        # nothing broke: the workers live, the gateway is ready and still does real work
        assert gateway.process.alive()
        assert stack.workers_alive()
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/jobs?wait=30", content=astronaut_jpeg).json()["status"] == "done"


def test_content_length_over_the_limit_is_refused_before_the_body(gateway: Gateway) -> None:
    """A client announcing 1 GB gets 413 at once; the server does not wait for (or read) the body."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 1000000000\r\n\r\n\xff\xd8\xff"
        )
        reply = b""
        while b"payload_too_large" not in reply:  # the head and the body may come in separate packets
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"payload_too_large"' in reply
