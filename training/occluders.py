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
    image_rgb: np.ndarray, box: tuple[float, float, float, float], style: str, rng: np.random.Generator | None = None,
    top: float = 0.52,
) -> np.ndarray:
    """A copy of ``H x W x 3`` uint8 RGB ``image_rgb`` with a mask of ``style`` over the face in ``box``; ``top``
    is where its upper edge sits (share of the box height: 0.52 covers the nose, more leaves it out)."""
    rng = rng or np.random.default_rng(0)
    out = image_rgb.copy()
    h_img, w_img = out.shape[:2]
    area = np.zeros((h_img, w_img), np.uint8)
    cv2.fillPoly(area, [mask_polygon(box, top)], 255, cv2.LINE_AA)
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
    shade = np.clip(1.05 - 0.25 * np.abs(ys - (top + 0.23)), 0.75, 1.05)  # folds darken away from the mask's middle
    layer = layer * shade[..., None] + rng.normal(0, 4, (h_img, w_img, 1)).astype(np.float32)
    alpha = (area.astype(np.float32) / 255.0)[..., None]
    out = out.astype(np.float32) * (1 - alpha) + np.clip(layer, 0, 255) * alpha
    return out.astype(np.uint8)


def jittered(box: tuple[float, float, float, float], rng: np.random.Generator) -> tuple[float, float, float, float]:
    """``box`` with each of x, y, w, h moved by up to 5 % of its width: detector boxes vary from face to face."""
    jitter = rng.uniform(-0.05, 0.05, 4) * box[2]
    return (box[0] + jitter[0], box[1] + jitter[1], box[2] + jitter[2], box[3] + jitter[3])


# Where a mask's upper edge sits when it is worn wrongly (share of the res10 box height, brow to chin): below
# the nose tip (~0.66) down to the chin (~0.85). Worn correctly it sits at 0.52, over the nose.
WRONG_WEAR_TOPS: tuple[float, float] = (0.66, 0.84)


def transplant_mask(
    face_rgb: np.ndarray, donor_rgb: np.ndarray, box: tuple[float, float, float, float], top: float
) -> np.ndarray:
    """``face_rgb`` with the real mask of ``donor_rgb`` (a crop of a masked face framed the same way) cut out
    of the donor's mask area and pasted with its upper edge at ``top`` (share of the box height)."""
    h_img, w_img = face_rgb.shape[:2]
    area = np.zeros((h_img, w_img), np.uint8)
    cv2.fillPoly(area, [mask_polygon(box)], 255, cv2.LINE_AA)
    area = cv2.GaussianBlur(area, (3, 3), 0)
    shift = np.float32([[1, 0, 0], [0, 1, (top - 0.52) * box[3]]])
    layer = cv2.warpAffine(donor_rgb, shift, (w_img, h_img), borderMode=cv2.BORDER_REPLICATE)
    alpha = (cv2.warpAffine(area, shift, (w_img, h_img)).astype(np.float32) / 255.0)[..., None]
    out = face_rgb.astype(np.float32) * (1 - alpha) + layer.astype(np.float32) * alpha
    return out.astype(np.uint8)


def wear_batch(
    x: np.ndarray, y: np.ndarray, donors: np.ndarray, box: tuple[float, float, float, float], prob: float,
    rng: np.random.Generator, mask_label: int = 1, wrong_label: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic wear for the mask head: each mask-free crop (label 0) of ``x`` (``N x 3 x S x S`` uint8 RGB) gets,
    with probability ``prob``, a mask — cut out of a real masked crop of ``donors`` (two times in three) or a
    drawn style — worn correctly (label ``mask_label``, one time in three) or below the nose / on the chin
    (``wrong_label``). Returns new arrays; the box is jittered per face (:func:`jittered`)."""
    out, labels = x.copy(), y.copy()
    for i in np.flatnonzero((y == 0) & (rng.random(len(y)) < prob)):
        img = np.ascontiguousarray(out[i].transpose(1, 2, 0))
        b = jittered(box, rng)
        wrong = rng.random() < 2 / 3
        top = rng.uniform(*WRONG_WEAR_TOPS) if wrong else 0.52 + rng.uniform(-0.03, 0.02)
        if len(donors) and rng.random() < 2 / 3:
            donor = np.ascontiguousarray(donors[rng.integers(len(donors))].transpose(1, 2, 0))
            img = transplant_mask(img, donor, b, top)
        else:
            img = paste_mask(img, b, MASK_STYLES[rng.integers(len(MASK_STYLES))], rng, top)
        out[i] = img.transpose(2, 0, 1)
        labels[i] = wrong_label if wrong else mask_label
    return out, labels


def face_box_in_crop(
    size: int, margin: float, region: dict[str, float] | None = None
) -> tuple[float, float, float, float]:
    """Where a square detector box sits inside a ``crop_face`` crop of ``size`` px with ``margin``, or inside
    the crop of its ``region`` (``services.crop.region_box``; the box may then reach outside the crop)."""
    if region:
        side = size / region["side"]
        return ((region["side"] / 2 - region["cx"]) * side, (region["side"] / 2 - region["cy"]) * side, side, side)
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
        b = jittered(box, rng)
        if masked:
            img = paste_mask(img, b, MASK_STYLES[rng.integers(len(MASK_STYLES))], rng)
        if sun:
            img = draw_eyewear(img, 2, rng, b)
        out[i] = img.transpose(2, 0, 1)
    return out
