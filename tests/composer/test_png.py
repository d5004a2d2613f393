"""render_png: size, skin colour, mouth shape, mask coverage and continuity, checked on the pixels."""

from __future__ import annotations

import numpy as np
import pytest

from services.composer import render_png, render_svg
from services.composer.palette import (
    MASK_EDGE,
    MASK_FILL,
    MASK_PLEAT,
    SKIN_FILLS,
    hex_to_rgb,
    skin_palette,
)
from services.composer.raster import rasterise_svg
from services.contracts import EMOTIONS, SKIN_TONES, RenderOptions
from services.errors import InvalidRequest

# Regions of a 256 px render (rows, columns), from the layout in services/composer/drawing.py.
SKIN_REGION = (slice(118, 134), slice(112, 144))  # between the eyes, above the nose
MOUTH_REGION = (slice(176, 196), slice(110, 146))  # the centre of every mouth
NOSE_REGION = (slice(140, 158), slice(114, 142))
MOUTH_BOX = (slice(140, 236), slice(70, 186))


def bgr_to_rgb(pixel: np.ndarray) -> tuple[int, ...]:
    return tuple(int(c) for c in pixel[::-1])


def near(pixels: np.ndarray, colour: str, tolerance: float) -> np.ndarray:
    """Boolean mask of BGR(A) pixels within ``tolerance`` (Euclidean, 0..255 units) of ``#rrggbb``."""
    target = np.array(hex_to_rgb(colour)[::-1], dtype=np.float32)
    return np.linalg.norm(pixels[..., :3].astype(np.float32) - target, axis=-1) <= tolerance


def mouth_heights(bgra: np.ndarray) -> tuple[float, float]:
    """(y of the lips' top edge at the mouth's corners, at its centre) from the dark outline pixels of a 256 px
    render; a smile has corners above (smaller y than) the centre."""
    region = bgra[MOUTH_BOX].astype(np.float32)
    dark = (region[..., :3].mean(axis=-1) < 70) & (region[..., 3] > 200)
    columns = np.flatnonzero(dark.any(axis=0))
    assert columns.size > 10, "no mouth found"
    tops = np.array([np.flatnonzero(dark[:, c])[0] for c in columns], dtype=np.float32)
    edge = max(2, columns.size // 8)
    corners = np.concatenate([tops[:edge], tops[-edge:]]).mean()
    centre = tops[columns.size // 2 - edge // 2 : columns.size // 2 + edge // 2 + 1].mean()
    return float(corners), float(centre)


@pytest.mark.parametrize("size", [16, 64, 256, 1024])
def test_png_has_the_requested_size_and_an_alpha_channel(make_face, png_pixels, size: int) -> None:
    image = png_pixels(render_png(make_face("happy", "glasses", "mask"), RenderOptions(size=size)))
    assert image.shape == (size, size, 4)
    assert image[0, 0, 3] == 0, "corners outside the face are transparent"
    assert image[size // 2, size // 2, 3] == 255


def test_png_is_the_svg_rasterised(make_face, png_pixels) -> None:
    attrs, options = make_face("fear", "sunglasses"), RenderOptions(size=96)
    direct = png_pixels(rasterise_svg(render_svg(attrs, options), 96))
    assert np.array_equal(png_pixels(render_png(attrs, options)), direct)


def test_size_outside_the_range_is_a_typed_error(make_face) -> None:
    with pytest.raises(InvalidRequest):
        render_png(make_face(), RenderOptions.model_construct(size=2000, tone="auto"))


@pytest.mark.parametrize("tone", ["yellow", *SKIN_TONES])
def test_face_fill_matches_the_tone_palette(make_face, png_pixels, tone: str) -> None:
    # The classifier says "light"; the override must win (and "auto" is checked below).
    image = png_pixels(render_png(make_face("neutral", skin_tone="light"), RenderOptions(tone=tone)))
    skin = image[SKIN_REGION].reshape(-1, 4)
    assert (skin[:, 3] == 255).all()
    median = np.median(skin[:, :3], axis=0)
    assert np.abs(np.array(bgr_to_rgb(median)) - hex_to_rgb(SKIN_FILLS[tone])).max() <= 2


@pytest.mark.parametrize("label", SKIN_TONES)
def test_auto_tone_uses_the_classifier_label(make_face, png_pixels, label: str) -> None:
    image = png_pixels(render_png(make_face("sad", skin_tone=label), RenderOptions(tone="auto")))
    median = np.median(image[SKIN_REGION].reshape(-1, 4)[:, :3], axis=0)
    assert np.abs(np.array(bgr_to_rgb(median)) - hex_to_rgb(SKIN_FILLS[label])).max() <= 2


def test_mouth_curves_up_for_happy_and_down_for_sad(make_face, png_pixels) -> None:
    options = RenderOptions(tone="yellow")
    happy_corners, happy_centre = mouth_heights(png_pixels(render_png(make_face("happy"), options)))
    sad_corners, sad_centre = mouth_heights(png_pixels(render_png(make_face("sad"), options)))
    neutral_corners, neutral_centre = mouth_heights(png_pixels(render_png(make_face("neutral"), options)))
    assert happy_corners < happy_centre - 5
    assert sad_corners > sad_centre + 5
    assert abs(neutral_corners - neutral_centre) <= 2


@pytest.mark.parametrize("mask", ["mask", "mask_incorrect"])
@pytest.mark.parametrize("emotion", EMOTIONS)
def test_a_mask_covers_the_mouth(make_face, png_pixels, emotion: str, mask: str) -> None:
    image = png_pixels(render_png(make_face(emotion, mask=mask), RenderOptions(tone="medium_dark")))
    region = image[MOUTH_REGION]
    mask_coloured = near(region, MASK_FILL, 30) | near(region, MASK_PLEAT, 30) | near(region, MASK_EDGE, 30)
    assert mask_coloured.mean() >= 0.97


def test_without_a_mask_the_mouth_region_is_not_mask_coloured(make_face, png_pixels) -> None:
    image = png_pixels(render_png(make_face("surprise"), RenderOptions(tone="light")))
    assert near(image[MOUTH_REGION], MASK_FILL, 30).mean() < 0.05


@pytest.mark.parametrize(
    ("mask", "nose_visible"), [("none", True), ("mask", False), ("mask_incorrect", True)]
)
def test_a_correct_mask_hides_the_nose_and_an_incorrect_one_does_not(
    make_face, png_pixels, mask: str, nose_visible: bool
) -> None:
    image = png_pixels(render_png(make_face("neutral", mask=mask), RenderOptions(tone="medium")))
    nose_pixels = near(image[NOSE_REGION], skin_palette("medium").nose, 12).sum()
    assert bool(nose_pixels >= 40) == nose_visible


def test_blending_is_continuous(make_face, png_pixels) -> None:
    def render(probabilities: dict[str, float]) -> np.ndarray:
        png = render_png(make_face(probabilities), RenderOptions(tone="yellow"))
        return png_pixels(png).astype(np.float32)

    base = render({"happy": 1.0})
    tiny = np.abs(render({"happy": 0.99, "surprise": 0.01}) - base).mean()
    small = np.abs(render({"happy": 0.95, "surprise": 0.05}) - base).mean()
    large = np.abs(render({"happy": 0.3, "surprise": 0.7}) - base).mean()
    assert 0 < tiny < small < large
    assert tiny < 0.1 * large
    assert large > 5.0
