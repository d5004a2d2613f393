"""Choosing the eyewear decision rule on validation rows (pure function)."""

from __future__ import annotations

import numpy as np

from training.decide import choose_min_present


def _rows() -> tuple[np.ndarray, np.ndarray]:
    # 6 eyewear-free faces, two of them with a soft glasses score; 4 glasses faces, one with a soft score.
    proba = np.array([
        [0.9, 0.08, 0.02], [0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.85, 0.1, 0.05],
        [0.42, 0.55, 0.03], [0.45, 0.5, 0.05],
        [0.1, 0.85, 0.05], [0.05, 0.9, 0.05], [0.2, 0.75, 0.05], [0.3, 0.67, 0.03],
    ])
    return np.array([0] * 6 + [1] * 4), proba


def test_the_rule_drops_soft_false_glasses_while_keeping_the_recall_floor() -> None:
    y, proba = _rows()
    choice = choose_min_present(y, proba, {1: 0.99})
    assert choice["val_argmax"]["false_present_rate"] > 0.3  # argmax draws glasses on both soft faces
    assert choice["val"]["false_present_rate"] == 0.0 and choice["val"]["recall"][1] == 1.0
    assert 0.6 <= choice["min_present"] <= 0.7  # above 0.58 (the soft false ones), at most 0.7 (a real one)


def test_an_unreachable_floor_chooses_no_rule() -> None:
    y, proba = _rows()
    proba[6:, 0], proba[6:, 1] = 0.9, 0.05  # every glasses face now reads none: no threshold keeps recall
    assert choose_min_present(y, proba, {1: 0.5})["min_present"] is None


def test_a_group_cap_raises_the_threshold_until_no_group_is_over_it() -> None:
    # Group "b" has one mask-free face at a soft 0.6 present, as soft as three of the four real masks.
    proba = np.array([
        [0.9, 0.1, 0.0], [0.95, 0.05, 0.0], [0.9, 0.05, 0.05],
        [0.4, 0.6, 0.0], [0.9, 0.1, 0.0], [0.9, 0.1, 0.0],
        [0.4, 0.6, 0.0], [0.4, 0.6, 0.0], [0.4, 0.6, 0.0], [0.1, 0.9, 0.0],
    ])
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "a", "b", "b", "b", "", "", "", ""])
    free = choose_min_present(y, proba, {1: 0.2}, groups, None)
    assert free["min_present"] <= 0.6 and free["val"]["worst_group"] == "b"
    assert abs(free["val"]["max_group_false_present"] - 1 / 3) < 1e-3
    capped = choose_min_present(y, proba, {1: 0.2}, groups, 0.0)
    assert capped["min_present"] > 0.6 and capped["val"]["max_group_false_present"] == 0.0
    assert capped["val"]["recall"][1] == 0.25
    assert choose_min_present(y, proba, {1: 0.5}, groups, 0.0)["min_present"] is None  # cap and floor clash
