"""Choose a head's decision rule on validation photos, through the serving path, and write it to the manifest.

``python -m training.decide eyewear`` runs the head's ``val`` split through res10 and the shipped head (as
``training.evaluate_eyewear`` does for ``test``), then picks ``min_present`` — the summed probability of glasses
and sunglasses a face needs before the service draws any (``services.classifier.heads.decide``): the value with
the best val macro-F1 among those that keep each present class's val recall at or above its floor (default: the
issue's target plus two points, glasses 0.90 and sunglasses 0.95); ties go to the lowest.
The test split is never looked at here; the card reports test figures under the chosen rule.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from services.classifier import FaceClassifier
from services.classifier.heads import decide
from services.detector import FaceDetector
from services.settings import get_settings

from .data import load_image, samples_for_eyewear
from .evaluate import predict_face
from .framing import largest_face
from .metrics import classification_report

log = logging.getLogger(__name__)

CANDIDATES = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.50 … 0.95; 0.5 ≈ plain argmax


def choose_min_present(y: np.ndarray, proba: np.ndarray, min_recall: dict[int, float]) -> dict:
    """The ``min_present`` of :data:`CANDIDATES` with the best macro-F1 that keeps the recall of every class
    index in ``min_recall`` at or above its floor (ties: the lowest), with its figures and plain argmax's."""
    labels = [str(i) for i in range(proba.shape[1])]

    def figures(threshold: float | None) -> dict:
        pred = decide(proba, threshold)
        report = classification_report(y, proba, labels, pred)
        recalls = [report["per_class"][label]["recall"] for label in labels]
        absent = y == 0
        return {"macro_f1": round(report["macro_f1"], 4), "recall": recalls,
                "false_present_rate": round(float((pred[absent] != 0).mean()), 4) if absent.any() else None}

    best, best_f1 = None, -1.0
    for threshold in CANDIDATES:
        f = figures(threshold)
        kept = all(f["recall"][c] >= floor for c, floor in min_recall.items())
        if kept and f["macro_f1"] > best_f1 + 1e-9:
            best, best_f1 = threshold, f["macro_f1"]
    return {"min_present": best, "val": figures(best) if best is not None else None, "val_argmax": figures(None)}


def val_rows(classifier: FaceClassifier, detector: FaceDetector) -> tuple[np.ndarray, np.ndarray]:
    """Labels and eyewear probabilities of the val photos res10 finds a face in (the serving crop)."""
    head = classifier.heads["eyewear"]
    y, proba = [], []
    for s in (s for s in samples_for_eyewear() if s.split == "val"):
        image = load_image(s.dataset, s.path)
        box = largest_face(detector, image)
        if box is not None:
            proba.append(predict_face(head, image, box))
            y.append(s.label)
    return np.array(y), np.stack(proba)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.decide")
    parser.add_argument("head", choices=["eyewear"])
    parser.add_argument("--min-recall", nargs="*", default=["glasses=0.90", "sunglasses=0.95"],
                        help="LABEL=FLOOR: val recall floors the rule must keep")
    parser.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings().model_copy(update={"min_face_px": 8, "model_dir": args.models_dir})
    manifest_path = args.models_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    classifier = FaceClassifier(settings)  # the rule only decides labels: the probabilities judged are the head's
    labels = classifier.heads[args.head].labels
    min_recall = {label: float(floor) for label, floor in (item.split("=") for item in args.min_recall)}
    y, proba = val_rows(classifier, FaceDetector(settings))
    choice = choose_min_present(y, proba, {labels.index(label): floor for label, floor in min_recall.items()})
    log.info("%s decision on %d val faces: %s", args.head, len(y), json.dumps(choice))
    entry = manifest["heads"][args.head]
    entry.pop("decision", None)
    if choice["min_present"] is not None:
        entry["decision"] = {
            "min_present": choice["min_present"], "chosen_on": f"{len(y)} val photos through res10",
            "min_recall": min_recall, "val": choice["val"], "val_argmax": choice["val_argmax"]}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
