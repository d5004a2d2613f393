"""The rasteriser (services.composer.raster): straight alpha, scaling to the asked size, painting many SVGs onto a
photo in one pass as if each were blended alone, and PNG round trips."""

from __future__ import annotations

import numpy as np
import pytest

from services.composer import render_svg
from services.composer.raster import encode_png, paint_svgs, png_to_bgra, svg_to_bgra
from services.contracts import RenderOptions
from services.errors import InvalidRequest

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


def test_pixels_have_straight_alpha() -> None:
    half_red = f'<svg {SVG_NS} viewBox="0 0 10 10"><rect width="10" height="10" fill="#ff0000" fill-opacity="0.5"/></svg>'
    pixel = svg_to_bgra(half_red, 8)[4, 4].astype(int)
    assert abs(pixel[3] - 128) <= 1
    assert pixel[2] >= 253 and pixel[0] == pixel[1] == 0, "colour is not premultiplied by alpha"


@pytest.mark.parametrize("sized", [True, False])
def test_a_document_is_scaled_to_the_asked_size(sized: bool) -> None:
    size = 'width="256" height="256"' if sized else ""
    disc = f'<svg {SVG_NS} viewBox="0 0 256 256" {size}><circle cx="128" cy="128" r="128" fill="#000"/></svg>'
    pixels = svg_to_bgra(disc, 64)
    assert pixels.shape == (64, 64, 4)
    covered = (pixels[..., 3] > 127).mean()
    assert covered == pytest.approx(np.pi / 4, abs=0.02)


def test_what_is_not_svg_is_a_typed_error() -> None:
    with pytest.raises(InvalidRequest):
        svg_to_bgra("not an svg", 32)
    with pytest.raises(InvalidRequest):
        svg_to_bgra(f"<svg {SVG_NS}/>", 0)


def blend(photo_bgr: np.ndarray, sticker_bgra: np.ndarray, left: int, top: int) -> np.ndarray:
    """The reference: one sticker alpha-blended over the photo at (left, top), clipped, in float."""
    out = photo_bgr.astype(np.float64)
    side = sticker_bgra.shape[0]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + side, photo_bgr.shape[0]), min(left + side, photo_bgr.shape[1])
    patch = sticker_bgra[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float64)
    alpha = patch[..., 3:] / 255.0
    out[y0:y1, x0:x1] = patch[..., :3] * alpha + out[y0:y1, x0:x1] * (1.0 - alpha)
    return out


def test_painting_in_one_pass_matches_blending_each_emoticon_alone(make_face, astronaut_bgr) -> None:
    options = RenderOptions(size=256)
    placements = [
        (render_svg(make_face("happy", "sunglasses"), options), 150, 20, 180),
        (render_svg(make_face("sad", mask="mask", skin_tone="dark"), options), -40, 400, 150),  # past the edge
    ]
    painted = paint_svgs(astronaut_bgr, placements)
    assert painted.shape == astronaut_bgr.shape and painted.dtype == np.uint8
    expected = astronaut_bgr.astype(np.float64)
    for svg, left, top, side in placements:
        expected = blend(expected.astype(np.uint8), svg_to_bgra(svg, side), left, top)
    difference = np.abs(painted.astype(np.float64) - expected)
    assert np.percentile(difference, 99.9) <= 3 and difference.mean() < 0.3
    outside = np.ones(astronaut_bgr.shape[:2], dtype=bool)
    for _, left, top, side in placements:
        outside[max(top, 0) : top + side, max(left, 0) : left + side] = False
    assert np.array_equal(painted[outside], astronaut_bgr[outside])
    assert np.abs(painted[~outside].astype(int) - astronaut_bgr[~outside]).mean() > 20


def test_painting_leaves_the_input_photo_alone(make_face, astronaut_bgr) -> None:
    before = astronaut_bgr.copy()
    paint_svgs(astronaut_bgr, [(render_svg(make_face(), RenderOptions()), 100, 100, 200)])
    assert np.array_equal(astronaut_bgr, before)


@pytest.mark.parametrize("content", ["drawing", "photo"])
def test_png_round_trips_exactly(astronaut_bgr, content: str) -> None:
    bgra = np.dstack([astronaut_bgr, np.arange(astronaut_bgr.size // 3, dtype=np.uint32).reshape(512, 512) % 256])
    bgra = bgra.astype(np.uint8)
    assert np.array_equal(png_to_bgra(encode_png(bgra, content)), bgra)
    assert np.array_equal(png_to_bgra(encode_png(astronaut_bgr, content))[..., :3], astronaut_bgr)
