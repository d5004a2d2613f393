"""``POST /v1/render`` with a frame shape, over HTTP against the real app: attributes with ``frame`` draw round or
rectangular lenses, without it the default lenses; ``options.frame`` overrides it; bad values are 422; the
OpenAPI schema documents both."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from services.composer.palette import GLASSES_LENS
from services.contracts import EMOTIONS, EYEWEAR, FRAME_SHAPES, MASKS, SKIN_TONES

SVG = "{http://www.w3.org/2000/svg}"


def one_hot(labels: tuple[str, ...], label: str) -> dict:
    return {"label": label, "probabilities": {name: float(name == label) for name in labels}}


def attributes(eyewear: str = "glasses", frame: str | None = None) -> dict:
    body = {
        "emotion": one_hot(EMOTIONS, "happy"),
        "eyewear": one_hot(EYEWEAR, eyewear),
        "mask": one_hot(MASKS, "none"),
        "skin_tone": one_hot(SKIN_TONES, "medium"),
    }
    if frame is not None:
        body["frame"] = {"label": frame, "probabilities": {n: 0.8 if n == frame else 0.2 for n in FRAME_SHAPES}}
    return body


def render(client: TestClient, attrs: dict, fmt: str = "svg", **options: object):
    response = client.post("/v1/render", json={"attributes": attrs, "options": options, "format": fmt})
    assert response.status_code == 200, response.text
    return response


def lens_tags(svg: str) -> list[str]:
    """The element names of the clear lenses ("circle" or "rect"), viewer's left first."""
    root = ET.fromstring(svg)
    return [e.tag.removeprefix(SVG) for e in root.iter() if e.attrib.get("fill", "").lower() == GLASSES_LENS]


def test_the_frame_of_the_attributes_shapes_the_lenses(client: TestClient) -> None:
    round_svg = render(client, attributes(frame="round")).text
    rectangular_svg = render(client, attributes(frame="rectangular")).text
    default_svg = render(client, attributes()).text
    assert lens_tags(round_svg) == ["circle", "circle"]
    assert lens_tags(rectangular_svg) == ["rect", "rect"]
    assert lens_tags(default_svg) == ["rect", "rect"]
    assert len({round_svg, rectangular_svg, default_svg}) == 3
    assert 'rx="17"' in default_svg and 'rx="17"' not in rectangular_svg  # the default keeps its soft corners
    assert "round glasses" in round_svg and "rectangular glasses" in rectangular_svg


def test_json_and_png_carry_the_frame_too(client: TestClient) -> None:
    body = render(client, attributes(frame="round"), "json").json()
    assert lens_tags(body["svg"]) == ["circle", "circle"]
    assert body["emoji"] == render(client, attributes(), "json").json()["emoji"]  # no emoji shows a frame
    pngs = {f: render(client, attributes(frame=f), "png", size=64).content for f in FRAME_SHAPES}
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs.values())
    assert pngs["round"] != pngs["rectangular"]


def test_the_frame_option_overrides_the_attributes(client: TestClient) -> None:
    rectangular = render(client, attributes(frame="rectangular")).text
    assert render(client, attributes(frame="round"), frame="rectangular").text == rectangular
    assert render(client, attributes(), frame="rectangular").text == rectangular
    assert render(client, attributes(frame="round"), frame="auto").text == render(client, attributes(frame="round")).text
    # Without clear glasses there are no lenses to shape.
    assert lens_tags(render(client, attributes("sunglasses", "round"), frame="round").text) == []


@pytest.mark.parametrize(
    "body",
    [
        {"attributes": attributes(), "options": {"frame": "oval"}},
        {"attributes": {**attributes(), "frame": "round"}},
        {"attributes": {**attributes(), "frame": {"label": "round"}}},
    ],
    ids=["unknown-frame-option", "frame-not-an-object", "frame-without-probabilities"],
)
def test_bad_frame_values_are_422(client: TestClient, body: dict) -> None:
    response = client.post("/v1/render", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_openapi_documents_the_frame(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    frame = schemas["FaceAttributes"]["properties"]["frame"]
    assert "round" in frame["description"] and "EMOTICON_FRAME_SHAPE" in frame["description"]
    assert "frame" not in schemas["FaceAttributes"].get("required", [])
    assert schemas["RenderOptions"]["properties"]["frame"]["enum"] == ["auto", *FRAME_SHAPES]
