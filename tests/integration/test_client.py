"""The Python client against the real gateway in both modes: typed results, renders, and our error codes as
exceptions."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from integration_stack import Gateway, Stack

from emoticon_client import (
    EmoticonClient,
    InvalidImage,
    InvalidRequest,
    JobTimeout,
    JobView,
    NotFound,
    RenderedJson,
    RenderOptions,
    Unauthorized,
    UnsupportedMediaType,
)
from services.contracts import EMOTIONS, JobStatus

pytestmark = pytest.mark.integration

API_KEY = "it-client-key"


def test_analyze_returns_the_typed_finished_job(
    gateway: Gateway, astronaut_jpeg: bytes, tmp_path: Path
) -> None:
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(astronaut_jpeg)
    with EmoticonClient(gateway.url) as client:
        job = client.analyze(photo, wait=60, size=80, tone="yellow")
        assert isinstance(job, JobView) and job.status == JobStatus.done
        (face,) = job.result.faces
        assert face.attributes.emotion.label in EMOTIONS and job.options.tone == "yellow"
        assert ET.fromstring(client.face_svg(job, 0)).tag.endswith("svg")
        png = cv2.imdecode(np.frombuffer(client.face_png(job, 0), np.uint8), cv2.IMREAD_UNCHANGED)
        assert png.shape[:2] == (80, 80)
        overlay = cv2.imdecode(np.frombuffer(client.overlay(job), np.uint8), cv2.IMREAD_COLOR)
        assert overlay.shape[:2] == (512, 512)

        again = client.analyze(astronaut_jpeg, wait=60)  # bytes work as well as paths
        assert again.result.image.sha256 == job.result.image.sha256 and again.id != job.id


def test_without_wait_the_queued_job_comes_back_and_can_be_awaited(
    gateway: Gateway, astronaut_jpeg: bytes
) -> None:
    with EmoticonClient(gateway.url) as client:
        job = client.analyze(astronaut_jpeg, wait=None, renders="svg")
        assert job.status in (JobStatus.queued, JobStatus.running, JobStatus.done)
        assert client.wait_for(job.id, 60).status == JobStatus.done
        with pytest.raises(JobTimeout) as timeout:
            client.wait_for(client.analyze(astronaut_jpeg, wait=None).id, 0)
        assert len(timeout.value.job_id) == 32


def test_a_deleted_job_is_gone(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with EmoticonClient(gateway.url) as client:
        job = client.analyze(astronaut_jpeg, wait=60, renders="svg")
        client.delete_job(job.id)
        with pytest.raises(NotFound):
            client.job(job.id)
        client.delete_job(job.id)  # deleting twice is fine


def test_rejections_raise_our_typed_errors(gateway: Gateway) -> None:
    gif = b"GIF89a" + b"\x00" * 64
    with EmoticonClient(gateway.url) as client:
        with pytest.raises(InvalidImage) as bad:
            client.analyze(b"these are not pixels", wait=10)
        assert bad.value.code == "invalid_image" and bad.value.http_status == 400
        with pytest.raises(UnsupportedMediaType):
            client.analyze(gif)
        with pytest.raises(InvalidImage) as empty:
            client.analyze(b"")
        assert empty.value.code == "empty_upload"
        with pytest.raises(NotFound):
            client.job("0" * 32)
        with pytest.raises(NotFound):
            client.batch("f" * 32)
        with pytest.raises(InvalidRequest):
            client.file("/v1/jobs/" + "0" * 32 + "/faces/x.svg")


def test_render_redraws_a_face_from_its_attributes(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with EmoticonClient(gateway.url) as client:
        face = client.analyze(astronaut_jpeg, wait=60, renders="svg").result.faces[0]
        svg = client.render(face.attributes, RenderOptions(tone="dark"))
        assert isinstance(svg, str) and ET.fromstring(svg).tag.endswith("svg")
        png = client.render(face.attributes, RenderOptions(size=48), format="png")
        assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] == (48, 48)
        rendered = client.render(face.attributes, format="json")
        assert isinstance(rendered, RenderedJson) and rendered.emoji


@pytest.fixture(scope="module")
def keyed_gateway(stack: Stack) -> Gateway:
    gateway = stack.start_gateway("distributed", EMOTICON_API_KEYS=f'["{API_KEY}"]')
    yield gateway
    gateway.process.stop()


def test_the_api_key_travels_with_every_call(keyed_gateway: Gateway, astronaut_jpeg: bytes) -> None:
    with EmoticonClient(keyed_gateway.url) as client:
        with pytest.raises(Unauthorized) as refused:
            client.analyze(astronaut_jpeg)
        assert refused.value.http_status == 401
    with EmoticonClient(keyed_gateway.url, api_key=API_KEY) as client:
        job = client.analyze(astronaut_jpeg, wait=60)
        assert client.face_svg(job).lstrip().startswith("<svg")
        assert client.batch(client.submit_batch([astronaut_jpeg]).id).total == 1
