"""Labelling tools (pure functions): sheets, agreement measures, label validation, held-out split."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import is_holdout, label_split
from training.labelling import merge
from training.labelling.merge import cohen_kappa
from training.labelling.sheets import fit_tile, render_sheet


def test_sheet_has_a_tile_per_face_in_six_columns() -> None:
    faces = [np.full((40, 30, 3), i * 20, np.uint8) for i in range(8)]
    sheet = render_sheet(faces, list(range(1, 9)), "sheet t", cols=6, tile=50)
    assert sheet.shape == (20 + 2 * (50 + 20), 6 * 54, 3)


def test_fit_tile_keeps_aspect_with_grey_bars() -> None:
    tile = fit_tile(np.zeros((20, 40, 3), np.uint8), 80)
    assert tile.shape == (80, 80, 3)
    assert (tile[:10] == 128).all() and (tile[35:45] == 0).all()


def test_cohen_kappa_known_values() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    # po = 0.5, pe = 0.5 → κ = 0
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == pytest.approx(0.0)


def test_tone_agreement_counts_within_one_step() -> None:
    stats = merge._tone_stats([("light", "medium_light"), ("light", "medium"), ("dark", "dark"), ("", "dark")])
    assert stats == {"n_both_judged": 3, "exact": round(1 / 3, 3), "within_one": round(2 / 3, 3),
                     "judgeable_agreement": 0.75}


def test_raw_labels_outside_the_vocabulary_are_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(merge, "RAW_DIR", tmp_path)
    (tmp_path / "s001.csv").write_text("n,skin_tone,eyewear,mask,usable,note\n1,tan,none,none,yes,\n")
    with pytest.raises(ValueError, match="skin_tone"):
        merge.read_raw("s001")


def test_held_out_rows_are_test_and_siblings_share_a_split() -> None:
    photo = next(f"fm:{i}" for i in range(1000) if is_holdout(f"fm:{i}"))
    assert label_split({"photo": photo, "holdout": "yes"}) == "test"
    kept = next(f"fm:{i}" for i in range(1000) if not is_holdout(f"fm:{i}"))
    splits = {label_split({"photo": kept, "holdout": "no"}) for _ in range(3)}
    assert len(splits) == 1 and splits <= {"train", "val"}
    share = np.mean([is_holdout(f"p{i}") for i in range(5000)])
    assert 0.17 < share < 0.23
