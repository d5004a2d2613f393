"""Evaluate the shipped heads through the serving code (``FaceClassifier``, ``FaceDetector``).

``python -m training.evaluate [head ...]`` writes ``runs/eval/<head>.json`` and ``runs/eval/fairness.json``:

- *given crop*: the dataset image is the face (the CLI's ``--whole-face`` path);
- *res10 path*: the image gets a replicated border (so res10 can see faces that fill the frame), res10 finds
  the largest face, and the head sees ``crop_face`` of that box with its manifest margin — the service path.
  Reported on the images where res10 found a face, next to the given-crop accuracy on the same images.
- emotion: the crop margin is swept on FER2013 *val* through the res10 path (the chosen margin is the one the
  manifest carries);
- fairness: every head on the held-out hand-labelled FairFace faces through the res10 path, per race × gender.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np

from services.classifier import FaceClassifier, HeadModel
from services.contracts import FaceBox
from services.detector import FaceDetector
from services.settings import REPO_ROOT, get_settings

from .data import (
    Sample,
    holdout_paths,
    load_image,
    samples_for_emotion,
    samples_for_eyewear,
    samples_for_fairface,
    samples_for_mask,
)
from .framing import largest_face
from .metrics import classification_report

log = logging.getLogger(__name__)

SAMPLES = {"emotion": samples_for_emotion, "mask": samples_for_mask, "eyewear": samples_for_eyewear}


def spread(rows: list[Sample], limit: int | None) -> list[Sample]:
    """At most ``limit`` rows taken evenly across the list (manifests are sorted by label: a prefix is not)."""
    if not limit or limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def predict_face(head: HeadModel, image_bgr: np.ndarray, box: FaceBox) -> np.ndarray:
    """One head's probabilities for one face box, cut as serving cuts it."""
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    return head.predict(head.batch(image_bgr, gray, [box]))[0]


def served_rows(
    head: HeadModel, detector: FaceDetector, samples: list[Sample]
) -> tuple[list[Sample], np.ndarray, list[FaceBox]]:
    """The samples res10 finds a face in (its largest), with the head's probabilities for that face cut as
    serving cuts it (``N x labels``) and the boxes; samples res10 misses are left out."""
    found, proba, boxes = [], [], []
    for s in samples:
        image = load_image(s.dataset, s.path)
        box = largest_face(detector, image)
        if box is not None:
            found.append(s)
            proba.append(predict_face(head, image, box))
            boxes.append(box)
    return found, np.stack(proba) if proba else np.zeros((0, len(head.labels)), np.float32), boxes


def evaluate_paths(head: HeadModel, detector: FaceDetector, samples: list[Sample], margins: list[float]) -> dict:
    """Given-crop and res10-path reports (one res10 report per margin)."""
    y, given, found = [], [], []
    by_margin: dict[float, list[np.ndarray]] = defaultdict(list)
    for s in samples:
        image = load_image(s.dataset, s.path)
        h, w = image.shape[:2]
        y.append(s.label)
        given.append(predict_face(head, image, FaceBox.from_pixels(0, 0, w, h, w, h, 1.0)))
        box = largest_face(detector, image)
        found.append(box is not None)
        for m in margins:
            if box is not None:
                by_margin[m].append(predict_face(dataclasses.replace(head, crop_margin=m), image, box))
    y_arr, given_arr, found_arr = np.array(y), np.stack(given), np.array(found)
    out = {
        "n": len(y),
        "given_crop": classification_report(y_arr, given_arr, head.labels),
        "res10_found_rate": float(found_arr.mean()),
        "given_crop_on_res10_found": classification_report(y_arr[found_arr], given_arr[found_arr], head.labels),
        "res10_path": {
            str(m): classification_report(y_arr[found_arr], np.stack(p), head.labels) for m, p in by_margin.items()
        },
    }
    for report in [out["given_crop"], out["given_crop_on_res10_found"], *out["res10_path"].values()]:
        report.pop("confusion", None)
    return out


def fairness(classifier: FaceClassifier, detector: FaceDetector) -> dict:
    """Per FairFace race × gender group on the held-out faces: mask and eyewear positive rates, tone and
    emotion distributions."""
    groups: dict[str, list] = defaultdict(list)
    missed: Counter[str] = Counter()
    # The held-out hand-labelled FairFace faces: no head trained on these (FairFace val no longer qualifies: the
    # eyewear and tone heads train on hand-labelled faces of both FairFace splits).
    for s in (r for r in samples_for_fairface() if (r.dataset, r.path) in holdout_paths()):
        image = load_image(s.dataset, s.path)
        box = largest_face(detector, image)
        if box is None:
            missed[s.group] += 1
            continue
        groups[s.group].append(classifier.classify(image, [box])[0])
    out = {}
    for group, attrs in sorted(groups.items()):
        n = len(attrs)
        tones = Counter(a.skin_tone.label for a in attrs)
        out[group] = {
            "n": n,
            "res10_missed": missed[group],
            "mask_positive_rate": round(sum(a.mask.label != "none" for a in attrs) / n, 4),
            "eyewear_positive_rate": round(sum(a.eyewear.label != "none" for a in attrs) / n, 4),
            "sunglasses_rate": round(sum(a.eyewear.label == "sunglasses" for a in attrs) / n, 4),
            "tone_distribution": {k: round(v / n, 3) for k, v in sorted(tones.items())},
            "mean_tone_index": round(float(np.mean(
                [classifier.heads["skin_tone"].labels.index(a.skin_tone.label) for a in attrs
                 if a.skin_tone.label in classifier.heads["skin_tone"].labels] or [np.nan])), 3),
            "emotion_distribution": {k: round(v / n, 3) for k, v in Counter(a.emotion.label for a in attrs).items()},
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate")
    parser.add_argument("heads", nargs="*", default=["emotion", "mask", "eyewear", "skin_tone", "fairness"])
    parser.add_argument("--limit", type=int, default=None, help="at most N test images per head")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "eval")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings().model_copy(update={"min_face_px": 8})
    classifier, detector = FaceClassifier(settings), FaceDetector(settings)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.heads:
        if name == "fairness":
            result = fairness(classifier, detector)
        elif name == "eyewear":
            from .evaluate_eyewear import astronaut_eyewear, evaluate_eyewear

            result = {"test": evaluate_eyewear(classifier, detector, args.limit),
                      "astronaut": astronaut_eyewear(classifier, detector)}
        elif name == "mask":
            from .evaluate_mask import evaluate_mask

            head = classifier.heads[name]
            test = spread([s for s in SAMPLES[name]() if s.split == "test"], args.limit)
            result = {"test": evaluate_paths(head, detector, test, [head.crop_margin]),
                      "held_out_real": evaluate_mask(classifier, detector, args.limit)}
        elif name == "skin_tone":
            from .evaluate_tone import evaluate_tone

            result = evaluate_tone(classifier, detector, args.limit)
        else:
            head = classifier.heads[name]
            test = spread([s for s in SAMPLES[name]() if s.split == "test"], args.limit)
            result = {"test": evaluate_paths(head, detector, test, [head.crop_margin])}
            if name == "emotion":
                val = spread([s for s in SAMPLES[name]() if s.split == "val"], args.limit)
                sweep = evaluate_paths(head, detector, val, [0.0, 0.05, 0.1, 0.15, 0.2, 0.3])
                result["val_margin_sweep"] = {m: r["accuracy"] for m, r in sweep["res10_path"].items()}
                result["val_res10_found_rate"] = sweep["res10_found_rate"]
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2))
        log.info("%s: %s", name, json.dumps(result)[:400])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
