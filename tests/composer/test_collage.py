"""render_overlay on a real photo and render_sheet: sizes, coverage, grid cells."""

from __future__ import annotations

import numpy as np
import pytest

from services.composer import emoji_for, render_overlay, render_sheet, sheet_layout
from services.composer.collage import MAX_SHEET_SIDE, overlay_square
from services.composer.palette import SKIN_FILLS, hex_to_rgb
from services.contracts import FaceBox, FaceResult, RenderOptions
from services.errors import InvalidRequest

# The astronaut's face in skimage.data.astronaut() (512 x 512), roughly.
ASTRONAUT_FACE = (170, 40, 120, 140)  # x, y, width, height


def face_result(attrs, box: tuple[int, int, int, int], index: int, image_side: int = 512) -> FaceResult:
    x, y, width, height = box
    return FaceResult(
        index=index,
        box=FaceBox.from_pixels(x, y, width, height, image_side, image_side, confidence=0.9),
        attributes=attrs,
        emoji=emoji_for(attrs),
    )


def test_overlay_covers_the_face_and_leaves_the_rest(make_face, png_pixels, astronaut_bgr) -> None:
    face = face_result(make_face("happy", "sunglasses"), ASTRONAUT_FACE, 0)
    out = png_pixels(render_overlay(astronaut_bgr, [face], RenderOptions()))
    assert out.shape == astronaut_bgr.shape and out.dtype == np.uint8
    x, y, w, h = ASTRONAUT_FACE
    inside = np.abs(out[y : y + h, x : x + w].astype(int) - astronaut_bgr[y : y + h, x : x + w]).mean()
    assert inside > 30
    left, top, side = overlay_square(x, y, w, h)
    assert side > max(w, h), "the emoticon is larger than the box"
    outside = np.ones(astronaut_bgr.shape[:2], dtype=bool)
    outside[max(top, 0) : top + side, max(left, 0) : left + side] = False
    assert np.array_equal(out[outside], astronaut_bgr[outside])


def test_overlay_of_a_face_at_the_edge_and_of_no_face(make_face, png_pixels, astronaut_bgr) -> None:
    edge = face_result(make_face("sad"), (0, 430, 90, 82), 0)
    out = png_pixels(render_overlay(astronaut_bgr, [edge], RenderOptions(tone="dark")))
    assert out.shape == astronaut_bgr.shape
    assert np.abs(out[440:500, 10:80].astype(int) - astronaut_bgr[440:500, 10:80]).mean() > 20
    unchanged = png_pixels(render_overlay(astronaut_bgr, [], RenderOptions()))
    assert np.array_equal(unchanged, astronaut_bgr)


def test_overlay_rejects_an_image_that_is_not_hxwx3_uint8(astronaut_bgr) -> None:
    with pytest.raises(InvalidRequest):
        render_overlay(astronaut_bgr[:, :, 0], [], RenderOptions())


def test_sheet_has_one_cell_per_face_in_index_order(make_face, png_pixels) -> None:
    # Each face gets its own skin tone, so every cell's colour tells which face it holds.
    tones = ["dark", "light", "medium", "medium_dark", "medium_light"]
    faces = [
        face_result(make_face("neutral", skin_tone=tone), (10 * i, 10, 50, 50), index=i)
        for i, tone in enumerate(tones)
    ]
    options = RenderOptions(size=64)
    layout = sheet_layout(len(faces), options.size)
    assert (layout.columns, layout.rows) == (3, 2)
    sheet = png_pixels(render_sheet(list(reversed(faces)), options))
    assert sheet.shape == (layout.height, layout.width, 4)
    for position in range(layout.columns * layout.rows):
        x, y = layout.cell_origin(position)
        cell = sheet[y : y + layout.cell, x : x + layout.cell]
        if position < len(faces):
            assert cell[layout.cell // 2, layout.cell // 2, 3] == 255
            label = faces[position].attributes.skin_tone.label
            skin = cell[int(layout.cell * 0.49), layout.cell // 2, :3][::-1]
            assert np.abs(skin.astype(int) - hex_to_rgb(SKIN_FILLS[label])).max() <= 3
        else:
            assert cell[..., 3].max() == 0, "cells past the last face stay empty"


def test_sheet_of_no_faces_is_one_transparent_cell(png_pixels) -> None:
    sheet = png_pixels(render_sheet([], RenderOptions(size=32)))
    layout = sheet_layout(0, 32)
    assert sheet.shape == (layout.height, layout.width, 4)
    assert sheet[..., 3].max() == 0


@pytest.mark.parametrize(
    ("count", "columns", "rows"), [(1, 1, 1), (2, 2, 1), (4, 2, 2), (7, 3, 3), (10, 4, 3)]
)
def test_sheet_layout_is_near_square(count: int, columns: int, rows: int) -> None:
    layout = sheet_layout(count, 128)
    assert (layout.columns, layout.rows) == (columns, rows)
    assert layout.columns * layout.rows >= count


def test_big_sheets_shrink_their_cells_to_the_limit() -> None:
    layout = sheet_layout(100, 1024)
    assert max(layout.width, layout.height) <= MAX_SHEET_SIDE
    assert layout.cell < 1024
