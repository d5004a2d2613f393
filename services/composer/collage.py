"""Many emoticons in one picture: the privacy overlay on the photo and the sticker sheet.

``render_overlay`` covers every face box of a photo with its emoticon; ``render_sheet`` lays all of an image's
emoticons out in a grid. Both rasterise ``render_svg`` output, so they show the very drawing of ``render_png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.contracts import FaceResult, RenderOptions
from services.errors import InvalidRequest

from .drawing import render_svg
from .raster import encode_png, paint_svgs, svg_to_bgra

# The emoticon's side is this times the box's longer side, so hair, chin and ears are hidden too.
OVERLAY_SCALE = 1.3
# A sticker sheet is at most this many px on its longer side; cells shrink below options.size to fit.
MAX_SHEET_SIDE = 4096


def overlay_square(
    x: int, y: int, width: int, height: int, scale: float = OVERLAY_SCALE
) -> tuple[int, int, int]:
    """The square an emoticon covers for a face box: ``(left, top, side)`` in image px, centred on the box,
    side = ``scale`` x the box's longer side (may reach outside the image; the caller clips)."""
    side = max(1, round(max(width, height) * scale))
    centre_x, centre_y = x + width / 2, y + height / 2
    return round(centre_x - side / 2), round(centre_y - side / 2), side


def render_overlay(image_bgr: np.ndarray, faces: list[FaceResult], options: RenderOptions) -> bytes:
    """The photo (``HxWx3 uint8 BGR``) with every face box covered by its emoticon -> PNG bytes (HxW, BGR).

    Each emoticon is a square ``OVERLAY_SCALE`` x the box's longer side centred on the box (clipped at the image
    edge); ``options.tone`` applies, ``options.size`` does not (the box decides the size). No faces: the photo.
    All emoticons are painted onto one copy of the photo in one pass (``paint_svgs``), which is encoded once.
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise InvalidRequest(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
    placements = []
    for face in sorted(faces, key=lambda f: f.index):
        left, top, side = overlay_square(face.box.x, face.box.y, face.box.width, face.box.height)
        placements.append((render_svg(face.attributes, options), left, top, side))
    return encode_png(paint_svgs(image_bgr, placements), "photo")


@dataclass(frozen=True)
class SheetLayout:
    """Grid of a sticker sheet: ``columns`` x ``rows`` cells of ``cell`` px with ``gap`` px around each."""

    columns: int
    rows: int
    cell: int
    gap: int

    @property
    def width(self) -> int:
        return self.columns * self.cell + (self.columns + 1) * self.gap

    @property
    def height(self) -> int:
        return self.rows * self.cell + (self.rows + 1) * self.gap

    def cell_origin(self, position: int) -> tuple[int, int]:
        """Top-left ``(x, y)`` px of the cell at ``position`` (row-major)."""
        row, column = divmod(position, self.columns)
        return self.gap + column * (self.cell + self.gap), self.gap + row * (self.cell + self.gap)


def sheet_layout(count: int, size: int) -> SheetLayout:
    """The grid for ``count`` stickers of ``size`` px: as square as possible (columns = ceil(sqrt(count))), cells
    shrunk so the sheet stays within MAX_SHEET_SIDE px. ``count == 0`` gives one empty cell."""
    if count < 0:
        raise InvalidRequest("negative face count")
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    gap = max(1, size // 16)
    cell = min(size, (MAX_SHEET_SIDE - (columns + 1) * gap) // columns)
    return SheetLayout(columns=columns, rows=rows, cell=max(1, cell), gap=gap)


def render_sheet(faces: list[FaceResult], options: RenderOptions) -> bytes:
    """All faces' emoticons in a grid (ordered by ``index``, row-major) -> PNG bytes, RGBA, transparent background.

    Cells are ``options.size`` px (smaller when many faces would pass MAX_SHEET_SIDE); see ``sheet_layout``.
    Zero faces is not an error: the result is a valid, fully transparent PNG of one empty cell, so callers can
    always store a sheet.
    """
    layout = sheet_layout(len(faces), options.size)
    sheet = np.zeros((layout.height, layout.width, 4), dtype=np.uint8)
    for position, face in enumerate(sorted(faces, key=lambda f: f.index)):
        sticker = svg_to_bgra(render_svg(face.attributes, options), layout.cell)
        x, y = layout.cell_origin(position)
        sheet[y : y + layout.cell, x : x + layout.cell] = sticker
    return encode_png(sheet)
