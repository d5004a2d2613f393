"""Eyewear drawn onto face crops: sunglasses as an occluder for the skin-tone head (``training.occluders``).

The eyewear head itself now trains on real, hand-labelled photos only (``training/labels/``). What is drawn,
at the eye positions a face box implies (eyes ≈ 38 % down the box, 30 % / 70 % across), jittered:

- shapes: round, oval, rectangle, rounded rectangle; lens half-width 9–13 % of the crop; frame 1–3 px at 4x;
- clear glasses: thin frame in black/brown/gold/grey/transparent, lens tint alpha 0.03–0.12, eyes visible;
- sunglasses: dark lens (alpha 0.80–0.97) in black/brown/grey/green/blue tints plus a highlight;
- bridge and the start of the temples; the whole drawing rotated ±6° and shifted ±3 %.

Drawn at 4x and downscaled (anti-aliasing).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from services.contracts import EYEWEAR

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
