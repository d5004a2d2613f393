"""The val comparison of tone head variants (pure functions): which faces count, the per-group figures, the
pasted mask."""

from __future__ import annotations

import numpy as np

from training.data import Sample
from training.heads import HEADS
from training.tone_val import agreement_by_group, val_mask, with_pasted_mask


def test_only_judged_val_faces_of_rounds_1_to_4_count() -> None:
    samples = [
        Sample("fairface_train", "a", 1, "val", "Black|Female"),
        Sample("fairface_train", "b", 2, "train", "Black|Female"),
        Sample("maskedfacenet", "c", 3, "val", "ffhq_masked"),  # round 5: trains, not judged
        Sample("facemask12k", "d", 4, "val", "celeba_web"),
        Sample("seed", "e", -1, "val", "seed_web"),  # no judged tone
        Sample("seed", "f", 0, "val", "seed_web"),
    ]
    y = np.array([s.label for s in samples])
    rounds_1_to_4 = {(s.dataset, s.path) for s in samples if s.group not in ("ffhq_masked", "celeba_web")}
    assert val_mask(samples, y, rounds_1_to_4).tolist() == [True, False, False, False, False, True]


def test_agreement_names_the_lowest_group_and_counts_near_misses() -> None:
    y = np.array([4, 4, 4, 4, 1, 1, 2, 2])
    pred = np.array([3, 4, 2, 4, 1, 2, 2, 0])  # group a: one 2-step miss; group b: one 2-step miss of 2 faces
    groups = np.array(["x|a"] * 4 + ["x|b"] * 4)
    report = agreement_by_group(y, pred, groups)
    assert report["exact"] == 0.5 and report["within_one"] == 0.75
    assert report["groups"]["x|a"] == {"n": 4, "within_one": 0.75, "exact": 0.5}
    assert report["groups"]["x|b"]["within_one"] == 0.75
    pred[7] = 2
    assert agreement_by_group(y, pred, groups)["lowest_group"] == "x|a"
    assert agreement_by_group(y, pred, np.array(["seed_web"] * 8))["lowest_group"] is None  # no FairFace group


def test_the_pasted_mask_covers_the_lower_face_and_leaves_the_input_alone() -> None:
    spec = HEADS["skin_tone"]
    size = spec.input_size
    crops = np.full((2, 3, size, size), 128, np.uint8)
    masked = with_pasted_mask(crops, spec, "black")
    assert (crops == 128).all()
    changed = (masked != crops).any(axis=1)[0]
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.size and rows.min() > size // 3  # below the eyes
    assert np.median(masked[0][:, changed]) < 60  # black (its edges blend into the face)
