"""Many emoticons in one picture: the privacy overlay on the photo and the sticker sheet.

``render_overlay`` covers every face box of a photo with its emoticon; ``render_sheet`` lays all of an image's
emoticons out in a grid. Both rasterise ``render_svg`` output, so they show the very drawing of ``render_png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from services.contracts import FaceResult, RenderOptions
from services.errors import InvalidRequest

from .drawing import render_svg
from .raster import MAX_PNG_SIDE, encode_png, png_to_bgra, rasterise_svg

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


def _blend_onto(canvas: np.ndarray, sticker_bgra: np.ndarray, left: int, top: int) -> None:
    """Alpha-composite ``sticker_bgra`` (SxSx4) onto ``canvas`` (HxWx3 or HxWx4 uint8) at (left, top), clipped."""
    height, width = canvas.shape[:2]
    side_y, side_x = sticker_bgra.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + side_x, width), min(top + side_y, height)
    if x0 >= x1 or y0 >= y1:
        return
    patch = sticker_bgra[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float32)
    alpha = patch[:, :, 3:4] / 255.0
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    region[:, :, :3] = patch[:, :, :3] * alpha + region[:, :, :3] * (1.0 - alpha)
    if canvas.shape[2] == 4:
        region[:, :, 3:4] = 255.0 * alpha + region[:, :, 3:4] * (1.0 - alpha)
    canvas[y0:y1, x0:x1] = np.clip(np.rint(region), 0, 255).astype(np.uint8)


def _sticker(svg: str, side: int) -> np.ndarray:
    """``side`` x ``side`` BGRA pixels of an emoticon; above MAX_PNG_SIDE it is rasterised at that size and scaled
    up (rasterising cost grows with the area, and a face that large needs no finer detail)."""
    sticker = png_to_bgra(rasterise_svg(svg, min(side, MAX_PNG_SIDE)))
    if side > MAX_PNG_SIDE:
        sticker = cv2.resize(sticker, (side, side), interpolation=cv2.INTER_LINEAR)
    return sticker


def render_overlay(image_bgr: np.ndarray, faces: list[FaceResult], options: RenderOptions) -> bytes:
    """The photo (``HxWx3 uint8 BGR``) with every face box covered by its emoticon -> PNG bytes (HxW, BGR).

    Each emoticon is a square ``OVERLAY_SCALE`` x the box's longer side centred on the box (clipped at the image
    edge); ``options.tone`` applies, ``options.size`` does not (the box decides the size). No faces: the photo.
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise InvalidRequest(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
    canvas = image_bgr.copy()
    for face in sorted(faces, key=lambda f: f.index):
        box = face.box
        left, top, side = overlay_square(box.x, box.y, box.width, box.height)
        _blend_onto(canvas, _sticker(render_svg(face.attributes, options), side), left, top)
    return encode_png(canvas)


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
        sticker = png_to_bgra(rasterise_svg(render_svg(face.attributes, options), layout.cell))
        x, y = layout.cell_origin(position)
        sheet[y : y + layout.cell, x : x + layout.cell] = sticker
    return encode_png(sheet)
