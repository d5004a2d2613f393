"""The mask head on held-out real photos, through the serving code: per class, and by face width.

Test set: the mask head's held-out hand-labelled photos (``group == "hand"``, ``split == "test"``: FaceMask-12K
families and seed clusters whose hand-labelled twin is held out). Path: res10's largest face, the manifest's
crop — the service. Width buckets are the res10 box width in pixels of the photo: 32–48, 48–96, > 96 (faces
under 32 px are counted apart). ``with_fairface`` adds the held-out hand-labelled FairFace faces (real faces
without a mask, every race × gender group) to the same table, so ``none`` is measured on more than the few
covered-but-unmasked photos of the masked sets. The FairFace false-mask rate per group is in ``fairness.json``.
"""

from __future__ import annotations

import numpy as np

from services.classifier import FaceClassifier
from services.detector import FaceDetector

from .data import Sample, read_face_labels, samples_for_mask
from .evaluate import served_rows
from .metrics import classification_report


def held_out_fairface(labels: tuple[str, ...]) -> list[Sample]:
    """The held-out hand-labelled FairFace faces, with their hand mask label (almost all mask-free: the real
    ``none`` faces; the masked sets' held-out ``none`` photos are the few covered-but-unmasked ones)."""
    index = {name: i for i, name in enumerate(labels)}
    return [Sample(r["dataset"], r["path"], index[r["mask"]], "test", r["group"]) for r in read_face_labels()
            if r["dataset"] == "fairface_train" and r["holdout"] == "yes" and r["usable"] == "yes"]


WIDTH_BUCKETS = (("< 32", 0, 32), ("32-48", 32, 48), ("48-96", 48, 96), ("> 96", 96, 10**6))


def evaluate_mask(classifier: FaceClassifier, detector: FaceDetector, limit: int | None = None) -> dict:
    head = classifier.heads["mask"]
    test = [s for s in samples_for_mask() if s.split == "test" and s.group == "hand"]
    test = test[:limit] if limit else test
    found, p_arr, boxes = served_rows(head, detector, test)
    missed = len(test) - len(found)
    y_arr, w_arr = np.array([s.label for s in found]), np.array([b.width for b in boxes])
    pred = head.decide(p_arr)  # what the service answers
    out = {"n": len(test), "res10_missed": missed,
           "res10_path": classification_report(y_arr, p_arr, head.labels, pred),
           "by_face_width": {}}
    fairface = held_out_fairface(head.labels)
    ff_found, ff_p, _ = served_rows(head, detector, fairface[:limit] if limit else fairface)
    ff_y = np.array([s.label for s in ff_found], np.int64)
    all_y, all_p = np.concatenate([y_arr, ff_y]), np.concatenate([p_arr, ff_p])
    out["with_fairface"] = {
        "n_found": len(all_y), "n_fairface_found": len(ff_y),
        "res10_path": classification_report(all_y, all_p, head.labels, head.decide(all_p))}
    for name, lo, hi in WIDTH_BUCKETS:
        inside = (w_arr >= lo) & (w_arr < hi)
        if inside.any():
            r = classification_report(y_arr[inside], p_arr[inside], head.labels, pred[inside])
            out["by_face_width"][name] = {"n": int(inside.sum()), "accuracy": round(r["accuracy"], 4),
                                          "per_class_recall": {k: v["recall"] for k, v in r["per_class"].items()}}
    return out
