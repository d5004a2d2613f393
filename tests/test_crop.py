"""The shared face crop: geometry, padding and sizes."""

from __future__ import annotations

import numpy as np
import pytest

from services.crop import crop_face, square_around


def test_square_is_centred_on_the_box_and_widened_by_the_margin() -> None:
    left, top, side = square_around(100, 50, 40, 60, margin=0.25)
    assert side == 90  # max(40, 60) * 1.5
    assert (left + side / 2, top + side / 2) == (120, 80)


def test_crop_has_requested_size_and_colour_layout(astronaut_bgr: np.ndarray) -> None:
    crop = crop_face(astronaut_bgr, (180, 60, 120, 150), size=64, margin=0.1)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    gray = crop_face(astronaut_bgr[:, :, 0], (180, 60, 120, 150), size=48, margin=0.1)
    assert gray.shape == (48, 48)


def test_crop_inside_image_equals_resized_region() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (100, 100, 3), dtype=np.uint8)
    crop = crop_face(image, (20, 20, 40, 40), size=40, margin=0.0)
    assert np.array_equal(crop, image[20:60, 20:60])


def test_crop_past_the_border_replicates_edge_pixels_not_black() -> None:
    image = np.full((50, 50, 3), 200, np.uint8)
    crop = crop_face(image, (0, 0, 50, 50), size=64, margin=0.5)
    assert crop.min() == 200  # no black padding the heads could learn from


def test_box_outside_image_is_an_error() -> None:
    with pytest.raises(ValueError):
        crop_face(np.zeros((10, 10, 3), np.uint8), (100, 100, 5, 5), size=8, margin=0.0)
