"""The one face-crop function, shared by training and serving.

A detector box becomes a square around the box's centre whose side is ``max(w, h) * (1 + 2 * margin)``;
parts of the square outside the image are filled by replicating the border (no black corners, which the
heads would otherwise learn as a cue); the square is resized to ``size x size`` with area interpolation
when shrinking and linear when enlarging.

Training applies the same function: for datasets that are already face crops the "box" is the whole image
shrunk by the dataset's own margin (see ``training.data``), so both paths frame a face the same way.
"""

from __future__ import annotations

import cv2
import numpy as np


def square_around(
    x: float, y: float, w: float, h: float, margin: float
) -> tuple[int, int, int]:
    """Return ``(left, top, side)`` of the square crop for box ``(x, y, w, h)`` in pixels."""
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    side_i = max(1, int(round(side)))
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side_i


def crop_face(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    size: int,
    margin: float,
) -> np.ndarray:
    """Cut a square face crop.

    image: ``HxWxC`` (or ``HxW``) uint8; box: ``(x, y, w, h)`` in pixels of ``image``;
    returns ``size x size x C`` (or ``size x size``) uint8 in the same colour order as ``image``.
    """
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected a non-empty HxW or HxWxC image, got shape {image.shape}")
    height, width = image.shape[:2]
    left, top, side = square_around(*box, margin=margin)
    pad_left, pad_top = max(0, -left), max(0, -top)
    pad_right, pad_bottom = max(0, left + side - width), max(0, top + side - height)
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + side), min(height, top + side)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {box} lies outside the {width}x{height} image")
    patch = image[y0:y1, x0:x1]
    if pad_left or pad_top or pad_right or pad_bottom:
        patch = cv2.copyMakeBorder(patch, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interpolation)


# Where the eyes are in a face box, for heads that look at the eyes only (eyewear, frame shape): the centre of
# the square, as fractions of the box's width and height, and its side as a fraction of the box's width.
# res10 boxes run from the brow to the chin; the eyes sit ≈ 38 % down, at 30 % and 70 % across, so a square
# 0.8 box-widths wide holds both eyes, the bridge and the temples. At 64 px it gives 1.6x the pixels per eye of
# a 64 px whole-face crop with margin 0.15 (1.3 box-widths), at the same cost.
EYE_REGION = {"cx": 0.5, "cy": 0.38, "side": 0.8}


def region_box(
    box: tuple[float, float, float, float], region: dict[str, float]
) -> tuple[float, float, float, float]:
    """The square sub-box ``(x, y, w, h)`` of face box ``box`` described by ``region`` (see ``EYE_REGION``)."""
    x, y, w, h = box
    side = region["side"] * w
    cx, cy = x + region["cx"] * w, y + region["cy"] * h
    return (cx - side / 2, cy - side / 2, side, side)
