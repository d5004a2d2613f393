"""The skin-tone head against the held-out hand labels, through the serving code (res10 + classifier).

For every held-out face with a judged tone (``training/labels/faces.csv``, ``holdout = yes``):

- **agreement**: the served tone vs the hand label — exact and within one step, over the faces the head
  answered and counting ``unknown`` as a miss; per race × gender group and for masked vs unmasked faces;
- **mask invariance**: the same photo with a black, white and light-blue mask pasted at the res10 box
  (``training.occluders.paste_mask``): the tone equal / within one step of the unmasked photo's;
- **light invariance**: the photo under a warm and a cool cast (red and blue gains ×1.12 / ×0.88): the same;
- **greyscale**: the photo made grey must give ``unknown``.
"""

from __future__ import annotations

from collections import defaultdict

import cv2
import numpy as np

from services.classifier import FaceClassifier
from services.classifier.tone import TONE_UNKNOWN
from services.contracts import SKIN_TONES, FaceBox
from services.detector import FaceDetector

from .data import load_image, read_face_labels
from .framing import largest_face
from .metrics import confusion_matrix
from .occluders import paste_mask

MASK_STYLES_TESTED = ("black", "white", "light_blue")
CASTS = {"warm": (1.12, 1.0, 0.88), "cool": (0.88, 1.0, 1.12)}  # RGB gains


def apply_cast(image_bgr: np.ndarray, gains_rgb: tuple[float, float, float]) -> np.ndarray:
    """The photo under a coloured light: per-channel gains (``HxWx3 uint8 BGR`` in and out)."""
    gains = np.array(gains_rgb[::-1], np.float32)
    return np.clip(image_bgr.astype(np.float32) * gains, 0, 255).astype(np.uint8)


def with_mask(image_bgr: np.ndarray, box: FaceBox, style: str) -> np.ndarray:
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    pasted = paste_mask(rgb, (box.x, box.y, box.width, box.height), style, np.random.default_rng(0))
    return cv2.cvtColor(pasted, cv2.COLOR_RGB2BGR)


def _tone(classifier: FaceClassifier, image: np.ndarray, box: FaceBox) -> str:
    return classifier.classify(image, [box])[0].skin_tone.label


def _step(label: str) -> int | None:
    return SKIN_TONES.index(label) if label in SKIN_TONES else None


def _agreement(pairs: list[tuple[int, int | None]]) -> dict:
    answered = [(t, p) for t, p in pairs if p is not None]
    n, k = len(pairs), len(answered)
    return {
        "n": n,
        "unknown_rate": round(1 - k / n, 4) if n else None,
        "exact": round(sum(t == p for t, p in answered) / k, 4) if k else None,
        "within_one": round(sum(abs(t - p) <= 1 for t, p in answered) / k, 4) if k else None,
        "exact_unknown_as_miss": round(sum(t == p for t, p in answered) / n, 4) if n else None,
        "within_one_unknown_as_miss": round(sum(abs(t - p) <= 1 for t, p in answered) / n, 4) if n else None,
    }


def _invariance(base: list[int | None], other: list[int | None]) -> dict:
    both = [(a, b) for a, b in zip(base, other) if a is not None and b is not None]
    n = len(both)
    return {
        "n_both_known": n,
        "equal": round(sum(a == b for a, b in both) / n, 4) if n else None,
        "within_one": round(sum(abs(a - b) <= 1 for a, b in both) / n, 4) if n else None,
        "became_unknown": round(sum(a is not None and b is None for a, b in zip(base, other)) / max(1, len(base)), 4),
    }


def evaluate_tone(classifier: FaceClassifier, detector: FaceDetector, limit: int | None = None) -> dict:
    rows = [r for r in read_face_labels() if r["holdout"] == "yes" and r["usable"] == "yes" and r["skin_tone"]]
    rows = rows[:limit] if limit else rows
    truth: list[int] = []
    served: list[int | None] = []
    groups: dict[str, list] = defaultdict(list)
    masked_rows: dict[str, list] = defaultdict(list)
    variants: dict[str, list[int | None]] = defaultdict(list)
    grey_unknown: list[bool] = []
    found = 0
    for r in rows:
        image = load_image(r["dataset"], r["path"])
        h, w = image.shape[:2]
        box = largest_face(detector, image)
        found += box is not None
        box = box or FaceBox.from_pixels(0, 0, w, h, w, h, 1.0)
        t, p = SKIN_TONES.index(r["skin_tone"]), _step(_tone(classifier, image, box))
        truth.append(t)
        served.append(p)
        groups[r["group"]].append((t, p))
        masked_rows["masked" if r["mask"] != "none" else "unmasked"].append((t, p))
        if r["mask"] == "none":  # paste masks only on faces that wear none
            for style in MASK_STYLES_TESTED:
                variants[f"mask_{style}"].append(_step(_tone(classifier, with_mask(image, box, style), box)))
            variants["mask_base"].append(p)
        for name, gains in CASTS.items():
            variants[f"cast_{name}"].append(_step(_tone(classifier, apply_cast(image, gains), box)))
        grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        grey_unknown.append(_tone(classifier, grey, box) == TONE_UNKNOWN)
    known = [(t, p) for t, p in zip(truth, served) if p is not None]
    cm = confusion_matrix(np.array([t for t, _ in known]), np.array([p for _, p in known]), len(SKIN_TONES))
    return {
        "n": len(rows),
        "res10_found_rate": round(found / max(1, len(rows)), 4),
        "overall": _agreement(list(zip(truth, served))),
        "per_group": {g: _agreement(p) for g, p in sorted(groups.items())},
        "masked_vs_unmasked": {k: _agreement(v) for k, v in sorted(masked_rows.items())},
        "mask_invariance": {s: _invariance(variants["mask_base"], variants[f"mask_{s}"]) for s in MASK_STYLES_TESTED},
        "light_invariance": {c: _invariance(served, variants[f"cast_{c}"]) for c in CASTS},
        "greyscale_unknown_rate": round(float(np.mean(grey_unknown)), 4) if grey_unknown else None,
        "confusion_answered": cm.tolist(),
        "labels": list(SKIN_TONES),
    }
