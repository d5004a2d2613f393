"""Face masks and sunglasses pasted onto face images, for heads whose label must not change under them.

The skin-tone head trains with them (a black mask must not darken a face, a white one must not lighten it), and
the invariance tests and the card's mask-invariance figure use :func:`paste_mask` on full photos at the
detector's box. Geometry is relative to a face box ``(x, y, w, h)`` as res10 draws it (brow to chin): the mask
runs from just below the eyes (52 % down the box) to below the chin, 8–92 % across.

Styles: ``black``, ``white``, ``light_blue`` (surgical), ``navy``, ``grey``, ``pink``, and ``pattern`` (a base
colour with dots or stripes of a second one); every mask gets a soft vertical shading and a little noise.
"""

from __future__ import annotations

import cv2
import numpy as np

from .synthetic_eyewear import draw_eyewear

MASK_COLOURS_RGB: dict[str, tuple[int, int, int]] = {
    "black": (22, 22, 24),
    "white": (236, 236, 232),
    "light_blue": (150, 196, 222),
    "navy": (30, 40, 80),
    "grey": (128, 128, 132),
    "pink": (226, 160, 180),
}
MASK_STYLES: tuple[str, ...] = (*MASK_COLOURS_RGB, "pattern")


def mask_polygon(box: tuple[float, float, float, float], top: float = 0.52) -> np.ndarray:
    """Outline of a mask over nose and mouth for face box ``(x, y, w, h)``: ``K x 2`` int32 pixel points."""
    x, y, w, h = box
    pts = []
    for t in np.linspace(0, 1, 9):  # top edge, slightly arched over the nose
        pts.append((x + w * (0.08 + 0.84 * t), y + h * (top + 0.04 * abs(t - 0.5) * 2)))
    for a in np.linspace(0, np.pi, 13):  # bottom: a half-ellipse under the chin
        pts.append((x + w * (0.5 + 0.42 * np.cos(a)), y + h * (top + 0.10 + 0.42 * np.sin(a))))
    return np.round(np.array(pts)).astype(np.int32)


def paste_mask(
    image_rgb: np.ndarray, box: tuple[float, float, float, float], style: str, rng: np.random.Generator | None = None
) -> np.ndarray:
    """A copy of ``H x W x 3`` uint8 RGB ``image_rgb`` with a mask of ``style`` over the face in ``box``."""
    rng = rng or np.random.default_rng(0)
    out = image_rgb.copy()
    h_img, w_img = out.shape[:2]
    area = np.zeros((h_img, w_img), np.uint8)
    cv2.fillPoly(area, [mask_polygon(box)], 255, cv2.LINE_AA)
    if style == "pattern":
        names = list(MASK_COLOURS_RGB)
        base = np.array(MASK_COLOURS_RGB[names[rng.integers(len(names))]], np.float32)
        other = rng.integers(0, 256, 3).astype(np.float32)
        layer = np.empty((h_img, w_img, 3), np.float32)
        layer[:] = base
        step = max(3, int(box[2] * rng.uniform(0.06, 0.14)))
        if rng.random() < 0.5:
            yy = np.arange(h_img)[:, None]
            stripes = ((yy // step) % 2 == 0) & np.ones((1, w_img), bool)
            layer[stripes] = other
        else:
            for cy in range(0, h_img, step * 2):
                for cx in range((cy // (step * 2)) % 2 * step, w_img, step * 2):
                    cv2.circle(layer, (cx, cy), max(1, step // 2), other.tolist(), -1)
    else:
        layer = np.empty((h_img, w_img, 3), np.float32)
        layer[:] = np.array(MASK_COLOURS_RGB[style], np.float32)
    _, y, _, h = box
    ys = (np.arange(h_img, dtype=np.float32)[:, None] - y) / max(h, 1.0)
    shade = np.clip(1.05 - 0.25 * np.abs(ys - 0.75), 0.75, 1.05)  # folds darken away from the mask's middle
    layer = layer * shade[..., None] + rng.normal(0, 4, (h_img, w_img, 1)).astype(np.float32)
    alpha = (area.astype(np.float32) / 255.0)[..., None]
    out = out.astype(np.float32) * (1 - alpha) + np.clip(layer, 0, 255) * alpha
    return out.astype(np.uint8)


def face_box_in_crop(size: int, margin: float) -> tuple[float, float, float, float]:
    """Where a square detector box sits inside a ``crop_face`` crop of ``size`` px with ``margin``."""
    side = size / (1 + 2 * margin)
    offset = (size - side) / 2
    return (offset, offset, side, side)


def occlude_batch(
    x: np.ndarray, box: tuple[float, float, float, float], mask_prob: float, sunglasses_prob: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Paste masks / sunglasses on a batch of crops ``N x 3 x S x S`` uint8 RGB (a new array)."""
    out = x.copy()
    for i in range(len(out)):
        masked = rng.random() < mask_prob
        sun = rng.random() < sunglasses_prob
        if not (masked or sun):
            continue
        img = np.ascontiguousarray(out[i].transpose(1, 2, 0))
        jitter = rng.uniform(-0.05, 0.05, 4) * box[2]
        b = (box[0] + jitter[0], box[1] + jitter[1], box[2] + jitter[2], box[3] + jitter[3])
        if masked:
            img = paste_mask(img, b, MASK_STYLES[rng.integers(len(MASK_STYLES))], rng)
        if sun:
            img = draw_eyewear(img, 2, rng, b)
        out[i] = img.transpose(2, 0, 1)
    return out
