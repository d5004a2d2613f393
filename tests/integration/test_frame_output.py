"""The frame shape end to end (issue 11 item 4), against a gateway and workers started with
``EMOTICON_FRAME_SHAPE=true``, embedded and distributed: a photo of people in clear glasses gives a job whose JSON
carries ``frame`` for exactly the faces called "glasses", and their emoticons have lenses of that shape."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import cv2
import pytest
from integration_stack import TEST_REDIS_URL, Gateway, Processes, Stack, stack_env, wait_for_job
from seed_photos import glasses_group_photo

from services.classifier import load_manifest
from services.composer.palette import GLASSES_LENS
from services.contracts import FRAME_SHAPES
from services.settings import Settings

pytestmark = pytest.mark.integration

LENS_ELEMENT = {"round": "circle", "rectangular": "rect"}


@pytest.fixture(scope="module")
def frame_stack(processes: Processes, redis_db15) -> Stack:
    """Workers of every stage with the frame output on, on a key prefix of their own (the session's classifier
    worker has it off, and would otherwise take half the jobs)."""
    if "frame" not in load_manifest(Settings().model_dir)["heads"]:
        pytest.skip("models/frame.onnx is not shipped yet (manifest heads.frame, issue 11 item 4)")
    env = {**stack_env(TEST_REDIS_URL, f"it-frame-{uuid.uuid4().hex[:8]}"), "EMOTICON_FRAME_SHAPE": "true"}
    stack = Stack(processes, env, "frame")
    stack.start_workers()
    return stack


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def frame_gateway(request: pytest.FixtureRequest, frame_stack: Stack) -> Gateway:
    return frame_stack.start_gateway(request.param)


@pytest.fixture(scope="module")
def glasses_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", glasses_group_photo(4), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def test_the_job_json_carries_the_frame_of_faces_in_glasses(frame_gateway: Gateway, glasses_jpeg: bytes) -> None:
    with frame_gateway.client() as client:
        response = client.post(
            "/v1/jobs?renders=svg&wait=30", content=glasses_jpeg, headers={"Content-Type": "image/jpeg"}
        )
        assert response.status_code in (200, 202), response.text
        job = response.json() if response.status_code == 200 else wait_for_job(client, response.json()["id"])
        assert job["status"] == "done", job
        faces = job["result"]["faces"]
        assert len(faces) >= 4, "the detector should find the astronaut and the faces in glasses"
        framed = 0
        for face, links in zip(faces, job["links"]["faces"], strict=True):
            attrs = face["attributes"]
            if attrs["eyewear"]["label"] != "glasses":
                assert attrs["frame"] is None, face
                continue
            framed += 1
            frame = attrs["frame"]
            assert frame["label"] in FRAME_SHAPES and set(frame["probabilities"]) == set(FRAME_SHAPES)
            svg = client.get(links["svg"])
            assert svg.status_code == 200
            lenses = [
                e.tag.rsplit("}", 1)[-1]
                for e in ET.fromstring(svg.content).iter()
                if e.attrib.get("fill", "").lower() == GLASSES_LENS
            ]
            assert lenses == [LENS_ELEMENT[frame["label"]]] * 2, (frame, lenses)
            assert f"{frame['label']} glasses" in svg.text
        assert framed >= 2, f"only {framed} of the faces in glasses were called glasses"
