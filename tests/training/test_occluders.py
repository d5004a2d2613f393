"""Pasted masks (pure functions): where they go and what they leave alone."""

from __future__ import annotations

import numpy as np
import pytest

from services.crop import region_box
from training.occluders import (
    MASK_STYLES,
    WRONG_WEAR_TOPS,
    face_box_in_crop,
    mask_polygon,
    occlude_batch,
    paste_mask,
    transplant_mask,
    wear_batch,
)


@pytest.mark.parametrize("style", MASK_STYLES)
def test_a_mask_covers_the_lower_face_and_leaves_eyes_and_forehead(style: str) -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    image[:] = (40, 200, 60)  # green: far from every mask colour
    out = paste_mask(image, (50, 40, 100, 120), style, np.random.default_rng(1))
    changed = np.abs(out.astype(int) - image).sum(axis=2) > 12
    assert not changed[:100].any()  # nothing above 52 % of the box (y = 40 + 0.52 * 120 ≈ 102)
    assert changed[130:150, 80:120].mean() > 0.9  # mouth and chin covered
    assert not changed[:, :50].any() and not changed[:, 151:].any()  # nothing outside the box's width


def test_polygon_lies_inside_the_box_width_and_below_its_middle() -> None:
    pts = mask_polygon((10, 20, 100, 100))
    assert pts[:, 0].min() >= 10 and pts[:, 0].max() <= 110
    assert pts[:, 1].min() >= 20 + 50


def test_box_in_crop_matches_the_crop_margin() -> None:
    x, y, w, h = face_box_in_crop(64, 0.15)
    assert w == pytest.approx(64 / 1.3) and x == pytest.approx((64 - w) / 2) and (x, w) == (y, h)


def test_box_in_a_region_crop_is_the_face_box_seen_through_that_crop() -> None:
    region = {"cx": 0.5, "cy": 0.22, "side": 0.7}
    face = (40.0, 60.0, 100.0, 100.0)
    cx, cy, side, _ = region_box(face, region)
    x, y, w, h = face_box_in_crop(32, 0.15, region)
    scale = 32 / side  # region crop pixels per photo pixel
    assert x == pytest.approx((face[0] - cx) * scale) and y == pytest.approx((face[1] - cy) * scale)
    assert w == pytest.approx(face[2] * scale) and h == pytest.approx(face[3] * scale)
    assert 0 < y < y + 0.52 * h < 32  # the forehead above the box is in the crop; a mask's top edge just in


def test_occlude_batch_changes_only_picked_crops() -> None:
    batch = np.full((6, 3, 32, 32), 140, np.uint8)
    box = face_box_in_crop(32, 0.15)
    none = occlude_batch(batch, box, 0.0, 0.0, np.random.default_rng(0))
    every = occlude_batch(batch, box, 1.0, 0.0, np.random.default_rng(0))
    assert np.array_equal(none, batch)
    assert all(not np.array_equal(every[i], batch[i]) for i in range(6))


def test_a_transplanted_mask_moves_down_when_worn_below_the_nose() -> None:
    face = np.zeros((64, 64, 3), np.uint8)
    face[:] = (40, 200, 60)
    donor = np.zeros_like(face)
    donor[:] = (230, 230, 230)  # a white mask everywhere the donor's mask area is
    box = face_box_in_crop(64, 0.15)
    worn = transplant_mask(face, donor, box, 0.52)
    below = transplant_mask(face, donor, box, WRONG_WEAR_TOPS[0])
    nose_row = int(box[1] + 0.58 * box[3])  # between 0.52 and 0.66: covered only when worn over the nose
    centre = int(box[0] + box[2] / 2)
    assert worn[nose_row, centre].min() > 200 and below[nose_row, centre].tolist() == [40, 200, 60]
    assert below[int(box[1] + 0.9 * box[3]), centre].min() > 200  # the chin is covered either way
    assert worn[: int(box[1] + 0.45 * box[3])].tolist() == face[: int(box[1] + 0.45 * box[3])].tolist()


def test_wear_batch_relabels_only_the_mask_free_crops_it_masks() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 255, (40, 3, 32, 32), dtype=np.uint8)
    y = np.array([0] * 30 + [1] * 5 + [2] * 5)
    out, labels = wear_batch(x, y, x[y == 1], face_box_in_crop(32, 0.15), 1.0, np.random.default_rng(0))
    assert np.array_equal(out[30:], x[30:]) and np.array_equal(labels[30:], y[30:])  # masked faces untouched
    assert set(labels[:30]) <= {1, 2} and {1, 2} <= set(labels[:30])  # every free face got a mask, both wears
    assert all(not np.array_equal(out[i], x[i]) for i in range(30))
    kept, same = wear_batch(x, y, x[y == 1], face_box_in_crop(32, 0.15), 0.0, np.random.default_rng(0))
    assert np.array_equal(kept, x) and np.array_equal(same, y)
