"""Labelling tools (pure functions): sheets, agreement measures, label validation, held-out split."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import is_holdout, label_split
from training.labelling import merge
from training.labelling.calibration import render_anchor_sheet, score
from training.labelling.merge import cohen_kappa, held_out
from training.labelling.plan import maskedfacenet_face
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


def test_round_five_tone_faces_are_never_held_out() -> None:
    photo = next(f"fm:{i}" for i in range(1000) if is_holdout(f"fm:{i}"))
    assert held_out(photo, "random") and held_out(photo, "pointer")
    assert not held_out(photo, "tone_pointer") and not held_out(photo, "tone_random")


def test_maskedfacenet_mask_placements_of_one_face_are_one_photo() -> None:
    names = ["archive/images/00046_Mask.jpg", "archive/images/00046_Mask_Mouth_Chin.jpg", "training/CWM/images/00046.jpg"]
    assert {maskedfacenet_face(n) for n in names} == {"00046"}
    assert maskedfacenet_face("archive/images/00047_Mask.jpg") != "00046"


def test_calibration_score_signs_a_lighter_labeller_negative() -> None:
    checks = [{"sheet": "c001", "n": str(i + 1), "skin_tone": t} for i, t in enumerate(["dark", "dark", "medium", "light"])]
    answers = {("c001", 1): "medium_dark", ("c001", 2): "dark", ("c001", 3): "medium", ("c001", 4): ""}
    report = score(checks, answers)
    assert report["n"] == 3 and report["exact"] == round(2 / 3, 3) and report["within_one"] == 1.0
    assert report["mean_shift"] == round(-1 / 3, 3)
    assert report["per_project_step"] == {"medium": {"n": 1, "mean_shift": 0.0}, "dark": {"n": 2, "mean_shift": -0.5}}


def test_anchor_sheet_has_one_row_per_step() -> None:
    faces = {t: [np.full((40, 40, 3), 10 * i, np.uint8)] * 3 for i, t in enumerate(["light", "medium", "dark"])}
    sheet = render_anchor_sheet(faces, "anchors", tile=50)
    assert sheet.shape == (30 + 3 * 54, 170 + 3 * 54, 3)
    assert (sheet[30 + 2 * 54 + 10, 170 + 10] == 20).all()  # the third row's first face
