"""The frame shape end to end (issue 11 item 4), against the session's gateways and workers (the frame output is on
by default, ``EMOTICON_FRAME_SHAPE``), embedded and distributed: a photo of people in clear glasses gives a job whose JSON
carries ``frame`` for exactly the faces called "glasses", and their emoticons have lenses of that shape."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import cv2
import pytest
from integration_stack import Gateway, wait_for_job
from seed_photos import glasses_group_photo

from services.composer.palette import GLASSES_LENS
from services.contracts import FRAME_SHAPES

pytestmark = pytest.mark.integration

LENS_ELEMENT = {"round": "circle", "rectangular": "rect"}


@pytest.fixture(scope="module")
def glasses_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", glasses_group_photo(4), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def test_the_job_json_carries_the_frame_of_faces_in_glasses(gateway: Gateway, glasses_jpeg: bytes) -> None:
    with gateway.client() as client:
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
