"""Synthetic eyewear drawn onto FairFace faces, as extra *training* data for the eyewear head.

Real eyewear photos are few (seed photos + CMU faces, mostly light-skinned, one sunglasses model in CMU). To
widen the faces the head sees, each FairFace train face that res10 detects is framed exactly like a served face
(``crop_face`` with the head's margin) and gets, with equal odds, nothing, clear glasses or sunglasses drawn at
the eye positions a res10 box implies (eyes ≈ 38 % down the box, 30 % / 70 % across), jittered:

- shapes: round, oval, rectangle, rounded rectangle; lens half-width 9–13 % of the crop; frame 1–3 px at 4x;
- clear glasses: thin frame in black/brown/gold/grey/transparent, lens tint alpha 0.03–0.12, eyes visible;
- sunglasses: dark lens (alpha 0.80–0.97) in black/brown/grey/green/blue tints plus a highlight;
- bridge and the start of the temples; the whole drawing rotated ±6° and shifted ±3 %.

Drawn at 4x and downscaled (anti-aliasing). Val/test stay real images only.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from services.contracts import EYEWEAR
from services.crop import crop_face

from .data import Sample, load_image, samples_for_fairface
from .data import subset as take_subset
from .heads import HeadSpec

log = logging.getLogger(__name__)

FRAME_COLOURS = [(20, 20, 20), (60, 40, 25), (170, 140, 60), (120, 120, 120), (200, 200, 210)]
SUN_TINTS = [(15, 15, 15), (40, 28, 18), (45, 45, 45), (20, 40, 25), (20, 25, 50)]


def draw_eyewear(crop_rgb: np.ndarray, kind: int, rng: np.random.Generator, box_in_crop: tuple) -> np.ndarray:
    """Return a copy of ``S x S x 3`` uint8 RGB ``crop_rgb`` with eyewear ``kind`` (index into EYEWEAR) drawn."""
    if EYEWEAR[kind] == "none":
        return crop_rgb.copy()
    up = 4
    s = crop_rgb.shape[0]
    big = cv2.resize(crop_rgb, (s * up, s * up), interpolation=cv2.INTER_LINEAR)
    bx, by, bw, bh = box_in_crop
    eye_y = (by + 0.38 * bh + rng.uniform(-0.03, 0.03) * s) * up
    centre_x = (bx + 0.5 * bw + rng.uniform(-0.02, 0.02) * s) * up
    half_gap = (0.2 * bw * rng.uniform(0.9, 1.1)) * up
    lens_w = s * rng.uniform(0.09, 0.13) * up
    lens_h = lens_w * rng.uniform(0.65, 0.95)
    shape = rng.integers(0, 4)
    thickness = int(rng.integers(1, 4)) * up // 2 + 1
    sunglasses = EYEWEAR[kind] == "sunglasses"
    frame = FRAME_COLOURS[rng.integers(len(FRAME_COLOURS))]
    lens_layer = big.copy()
    mask = np.zeros(big.shape[:2], np.uint8)
    centres = [(centre_x - half_gap, eye_y), (centre_x + half_gap, eye_y)]
    for cx, cy in centres:
        c = (int(cx), int(cy))
        axes = (int(lens_w), int(lens_h))
        if shape in (0, 1):
            if shape == 0:
                axes = (int(lens_w), int(lens_w * 0.9))
            cv2.ellipse(mask, c, axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
        else:
            radius = int(lens_h * (0.5 if shape == 3 else 0.15))
            x0, y0, x1, y1 = c[0] - axes[0], c[1] - axes[1], c[0] + axes[0], c[1] + axes[1]
            cv2.rectangle(mask, (x0 + radius, y0), (x1 - radius, y1), 255, -1)
            cv2.rectangle(mask, (x0, y0 + radius), (x1, y1 - radius), 255, -1)
            for px, py in ((x0 + radius, y0 + radius), (x1 - radius, y0 + radius),
                           (x0 + radius, y1 - radius), (x1 - radius, y1 - radius)):
                cv2.circle(mask, (px, py), radius, 255, -1, cv2.LINE_AA)
    if sunglasses:
        tint = np.array(SUN_TINTS[rng.integers(len(SUN_TINTS))], np.float32)
        alpha = rng.uniform(0.80, 0.97)
    else:
        tint = np.array((200, 210, 220), np.float32)
        alpha = rng.uniform(0.03, 0.12)
    a = (mask.astype(np.float32) / 255.0 * alpha)[..., None]
    lens_layer = (big.astype(np.float32) * (1 - a) + tint * a).astype(np.uint8)
    if sunglasses:  # a soft highlight across the upper lens
        for cx, cy in centres:
            cv2.ellipse(lens_layer, (int(cx - lens_w * 0.3), int(cy - lens_h * 0.4)),
                        (int(lens_w * 0.35), int(lens_h * 0.12)), -20, 0, 360, (120, 120, 130), -1, cv2.LINE_AA)
        lens_layer = np.where(mask[..., None] > 0, lens_layer, big)
    # Frame outline = mask edge, bridge, temples.
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(lens_layer, contours, -1, frame, thickness, cv2.LINE_AA)
    left_inner = (int(centres[0][0] + lens_w * 0.9), int(eye_y - lens_h * 0.3))
    right_inner = (int(centres[1][0] - lens_w * 0.9), int(eye_y - lens_h * 0.3))
    cv2.line(lens_layer, left_inner, right_inner, frame, thickness, cv2.LINE_AA)
    for cx, sign in ((centres[0][0], -1), (centres[1][0], 1)):
        outer = (int(cx + sign * lens_w), int(eye_y - lens_h * 0.3))
        cv2.line(lens_layer, outer, (int(outer[0] + sign * lens_w * 0.5), outer[1]), frame, thickness, cv2.LINE_AA)
    # Rotate/shift the drawing as a whole by blending a rotated copy inside the eyewear region only.
    angle = rng.uniform(-6, 6)
    rot = cv2.getRotationMatrix2D((float(centre_x), float(eye_y)), angle, 1.0)
    drawn = cv2.warpAffine(lens_layer, rot, (s * up, s * up), borderMode=cv2.BORDER_REPLICATE)
    region = cv2.dilate(mask, np.ones((9 * up, 9 * up), np.uint8))
    region = cv2.warpAffine(region, rot, (s * up, s * up))
    out = np.where(region[..., None] > 0, drawn, big)
    return cv2.resize(out, (s, s), interpolation=cv2.INTER_AREA)


def synthetic_eyewear_split(
    spec: HeadSpec, cache_dir: Path, subset: int | None
) -> tuple[np.ndarray, np.ndarray, list[Sample]]:
    """Synthetic train samples: ``(x N x 3 x S x S uint8 RGB, y, samples)``."""
    from .framing import DetectorFraming

    rows = [s for s in take_subset(samples_for_fairface(), subset) if s.split == "train"]
    key = hashlib.sha1(("|".join(s.path for s in rows) + f"{spec.input_size}{spec.crop_margin}").encode())
    path = cache_dir / f"synthetic_eyewear-{key.hexdigest()[:16]}.npz"
    if path.exists():
        data = np.load(path)
        x, y = data["x"], data["y"]
        kept = [rows[i] for i in data["index"]]
    else:
        framing = DetectorFraming()
        rng = np.random.default_rng(7)
        xs, ys, index = [], [], []
        for i, s in enumerate(tqdm(rows, desc="synthetic eyewear", mininterval=10)):
            image = load_image(s.dataset, s.path)
            box, detected = framing.box(image)
            if not detected:
                continue
            crop = cv2.cvtColor(crop_face(image, box, spec.input_size, spec.crop_margin), cv2.COLOR_BGR2RGB)
            # Where the box lies inside the crop (see services.crop.square_around).
            side = max(box[2], box[3]) * (1 + 2 * spec.crop_margin)
            k = spec.input_size / side
            bx = (side - box[2]) / 2 * k
            by = (side - box[3]) / 2 * k
            kind = int(rng.integers(0, 3))
            xs.append(draw_eyewear(crop, kind, rng, (bx, by, box[2] * k, box[3] * k)).transpose(2, 0, 1))
            ys.append(kind)
            index.append(i)
        x, y = np.stack(xs), np.array(ys, np.int64)
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=x, y=y, index=np.array(index))
        kept = [rows[i] for i in index]
    samples = [Sample("synthetic_eyewear", s.path, int(label), "train", s.group) for s, label in zip(kept, y)]
    log.info("synthetic eyewear: %d faces (%s)", len(y), np.bincount(y, minlength=3).tolist())
    return x, y, samples
