"""The eyewear head on held-out real photos, through the serving code, with the figures issue #11 asks for.

Test set: the eyewear head's ``test`` split (held-out hand labels, held-out seed clusters, CMU test people).
Two paths: *given crop* (the image is the face, ``--whole-face``) and *res10* (the service: res10's largest face,
the manifest's crop). Per path: per-class recall and precision, macro-F1, the share of eyewear-free faces called
glasses or sunglasses, and per race × gender group (FairFace faces) that false-eyewear rate.
"""

from __future__ import annotations

import numpy as np

from services.classifier import FaceClassifier
from services.classifier.heads import HeadModel
from services.contracts import FaceBox
from services.detector import FaceDetector

from .data import load_image, samples_for_eyewear
from .evaluate import predict_face
from .framing import largest_face
from .metrics import classification_report, expected_calibration_error


def _false_eyewear(y: np.ndarray, pred: np.ndarray) -> float | None:
    none = y == 0
    return round(float((pred[none] != 0).mean()), 4) if none.any() else None


def _report(y: np.ndarray, proba: np.ndarray, groups: np.ndarray, datasets: np.ndarray, head: HeadModel) -> dict:
    pred = head.decide(proba)  # what the service answers (services.classifier.heads.decide)
    report = classification_report(y, proba, head.labels, pred)
    report["false_eyewear_rate"] = _false_eyewear(y, pred)
    report["ece"] = round(expected_calibration_error(y, proba), 4)
    report["per_group_false_eyewear"] = {
        g: {"n_none": int(((groups == g) & (y == 0)).sum()), "rate": _false_eyewear(y[groups == g], pred[groups == g])}
        for g in sorted(set(groups))
    }
    report["per_dataset"] = {
        d: {"n": int((datasets == d).sum()), "accuracy": round(float((pred[datasets == d] == y[datasets == d]).mean()), 4)}
        for d in sorted(set(datasets))
    }
    return report


def evaluate_eyewear(classifier: FaceClassifier, detector: FaceDetector, limit: int | None = None) -> dict:
    head = classifier.heads["eyewear"]
    test = [s for s in samples_for_eyewear() if s.split == "test"]
    test = test[:limit] if limit else test
    y, given, found, res10 = [], [], [], []
    for s in test:
        image = load_image(s.dataset, s.path)
        h, w = image.shape[:2]
        given.append(predict_face(head, image, FaceBox.from_pixels(0, 0, w, h, w, h, 1.0)))
        box = largest_face(detector, image)
        found.append(box is not None)
        res10.append(predict_face(head, image, box) if box is not None else given[-1] * np.nan)
        y.append(s.label)
    y_arr, found_arr = np.array(y), np.array(found)
    groups = np.array([s.group for s in test])
    datasets = np.array([s.dataset for s in test])
    given_arr, res10_arr = np.stack(given), np.stack(res10)
    return {
        "n": len(test),
        "res10_found_rate": round(float(found_arr.mean()), 4),
        "given_crop": _report(y_arr, given_arr, groups, datasets, head),
        "res10_path": _report(y_arr[found_arr], res10_arr[found_arr], groups[found_arr], datasets[found_arr], head),
    }


def astronaut_eyewear(classifier: FaceClassifier, detector: FaceDetector) -> dict:
    """scikit-image's astronaut (no glasses) through the service path: the eyewear probabilities."""
    import skimage.data

    image = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    faces = detector.detect(image)
    return classifier.classify(image, faces)[0].eyewear.probabilities if faces else {}
