"""Pure functions of the detector's input planning (services/detector/scales.py) and nested-box suppression."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.detector.res10 import PixelBox, suppress_nested
from services.detector.scales import (
    COARSE_SHORT_SIDE,
    LARGE_FACE_NET_PX,
    MIN_FACE_ASPECT,
    NET_FACE_PX,
    OVERLAP,
    ScalePlan,
    face_shaped_rows,
    input_size,
    needs_coarse_pass,
    plan_scales,
    rows_in_band,
)

DEFAULTS = {"smallest_face_px": 32, "max_input_pixels": 200_000, "input_side": 300}


def plan(width: int, height: int, **changes: float) -> ScalePlan:
    return plan_scales(width, height, **{**DEFAULTS, **changes})  # type: ignore[arg-type]


def test_a_640x480_photo_is_seen_at_512x384_then_128x96():
    p = plan(640, 480)
    assert (p.fine.width, p.fine.height) == (512, 384)  # a 32 px face reaches res10 at 25.6 px
    assert p.smallest_face_px == pytest.approx(32)
    assert p.coarse is not None and (p.coarse.width, p.coarse.height) == (128, 96)
    # The fine band stops where res10's big-face layers stop lining up; the coarse band overlaps it.
    assert p.fine.max_face_px == pytest.approx(LARGE_FACE_NET_PX / 0.8)
    assert p.coarse.min_face_px == pytest.approx(OVERLAP * p.fine.max_face_px)
    assert (
        p.coarse_trigger_px == p.fine.max_face_px
    )  # called exactly when a box is dropped from the fine band


@pytest.mark.parametrize("size", [(640, 480), (480, 640), (1600, 1200), (1600, 400), (300, 1000), (77, 131)])
def test_every_pass_keeps_the_aspect_ratio(size):
    width, height = size
    p = plan(width, height)
    for one in (p.fine, p.coarse):
        if one is None:
            continue
        # to the pixel: each side is the image side times the same scale, rounded
        assert abs(one.width - width * one.scale) <= 0.5 and abs(one.height - height * one.scale) <= 0.5
        assert one.width / one.height == pytest.approx(width / height, rel=1.5 / min(one.width, one.height))


def test_large_photos_are_capped_and_the_smallest_face_grows():
    p = plan(1600, 1200)
    assert p.fine.pixels <= DEFAULTS["max_input_pixels"] * 1.01
    assert p.smallest_face_px == pytest.approx(NET_FACE_PX / p.fine.scale)
    assert 75 < p.smallest_face_px < 85  # stated in docs/detector.md and the settings' description
    more = plan(1600, 1200, max_input_pixels=1_300_000)
    assert (more.fine.width, more.fine.height) == (1280, 960) and more.smallest_face_px == pytest.approx(32)


def test_small_images_get_at_least_the_old_pixel_count():
    p = plan(240, 240)  # e.g. a 160 px training chip padded by a quarter on each side (training/framing.py)
    assert (p.fine.width, p.fine.height) == (300, 300)
    # res10's own training size: its big-face layers line up, so every box stands and no coarse pass runs
    assert p.coarse is None and p.fine.max_face_px == math.inf
    assert (
        plan(420, 315).coarse is None and plan(440, 330).coarse is not None
    )  # the floor binds up to ~433x325
    assert plan(100, 50).fine.pixels >= 300 * 300 * 0.99
    assert plan(240, 240, input_side=600).fine.width == 600


def test_the_smallest_face_setting_sets_the_scale():
    assert plan(640, 480, smallest_face_px=40).fine.width == 410  # 25.6 / 40 = 0.64
    # never under the old 300x300 pixel count: a 640x480 photo keeps at least 346x260
    assert plan(640, 480, smallest_face_px=200).fine.pixels >= 300 * 300 * 0.99


def test_short_inputs_need_no_coarse_pass():
    p = plan(100, 2000)  # a strip: its fine input is 80 px wide, every box comes from aligned layers
    assert p.coarse is None and p.fine.max_face_px == math.inf and p.coarse_trigger_px == math.inf
    assert not needs_coarse_pass(np.array([[0.99, 0.0, 0.0, 1.0, 0.1]]), 100, p, 0.5)


def test_input_size_has_a_floor():
    assert input_size(640, 480, 0.8) == (512, 384)
    assert input_size(2000, 40, 0.1) == (200, 32)


def test_rows_in_band_judge_the_unclipped_width():
    p = plan(640, 480)  # fine band: < 150 px; coarse band: >= 120 px
    rows = np.array(
        [
            [0.9, 0.10, 0.1, 0.15, 0.2],  # 32 px
            [0.9, 0.90, 0.1, 1.12, 0.6],  # 141 px, of which 64 px inside the image
            [0.9, 0.85, 0.1, 1.20, 0.6],  # 224 px, cut to 96 px by the border: still a large box
        ],
        dtype=np.float32,
    )
    assert rows_in_band(rows, 640, p.fine)[:, 1].tolist() == pytest.approx([0.10, 0.90])
    assert p.coarse is not None
    assert rows_in_band(rows, 640, p.coarse)[:, 1].tolist() == pytest.approx([0.90, 0.85])


def test_the_coarse_pass_is_called_by_a_confident_wide_box_only():
    p = plan(640, 480)
    small = [0.99, 0.1, 0.1, 0.15, 0.2]  # 32 px
    wide = [0.99, 0.2, 0.1, 0.45, 0.6]  # 160 px
    fits = [0.99, 0.2, 0.1, 0.42, 0.6]  # 141 px: still in the fine band
    assert not needs_coarse_pass(np.array([small, fits]), 640, p, 0.45)
    assert needs_coarse_pass(np.array([small, wide]), 640, p, 0.45)
    assert not needs_coarse_pass(np.array([small, wide]), 640, p, 0.9999)
    assert not needs_coarse_pass(np.zeros((0, 5)), 640, p, 0.45)


def test_flat_boxes_are_not_faces():
    rows = np.array(
        [
            [0.9, 0.10, 0.10, 0.20, 0.26],  # 64 x 77 px in 640x480: a face's shape
            [0.9, 0.30, 0.10, 0.43, 0.21],  # 83 x 53 px: flatter than any face res10 boxes
            [0.9, -0.05, 0.50, 0.05, 0.66],  # 64 x 77 px, half outside: judged unclipped
        ],
        dtype=np.float32,
    )
    kept = face_shaped_rows(rows, 640, 480)
    assert kept[:, 1].tolist() == pytest.approx([0.10, -0.05])
    assert MIN_FACE_ASPECT < 0.86  # the flattest real face box measured


def test_coarse_short_side():
    p = plan(800, 300)
    assert p.coarse is not None and p.coarse.height == COARSE_SHORT_SIDE and p.coarse.width == 256


def test_suppress_nested_drops_a_box_inside_a_larger_more_confident_one():
    face = PixelBox(100, 100, 220, 250, 0.99)
    chin = PixelBox(140, 200, 180, 250, 0.8)  # wholly inside: IoU 0.11, so NMS at 0.3 keeps it
    cheek = PixelBox(90, 150, 130, 200, 0.7)  # 3/4 inside
    neighbour = PixelBox(200, 100, 260, 170, 0.9)  # a third of it inside: another face
    kept = suppress_nested([chin, face, cheek, neighbour], fraction=0.5)
    assert sorted(kept, key=lambda b: b.x0) == [face, neighbour]
    # a more confident small box is kept, and so is the larger one (only the less confident goes)
    sure_chin = PixelBox(140, 200, 180, 250, 0.999)
    assert sorted(suppress_nested([face, sure_chin], 0.5), key=lambda b: b.x0) == [face, sure_chin]
