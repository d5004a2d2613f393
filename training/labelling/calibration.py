"""Labeller calibration for skin tone: does a new labeller draw the five steps where the project's labels do?

- **Check sheets** (``c…``): FairFace faces the project labelled in rounds 1-3 (not held out), drawn per step,
  shown numbered like any sheet; a labeller's answers are compared with the project's label (``score``).
- **Anchor sheets** (``A1``, ``A2``): other such faces shown with their label, one row per step: what a new
  labeller studies before labelling, so that ``medium`` / ``medium_dark`` / ``dark`` mean what they mean in the
  11,000 earlier labels.

Round 5 was first labelled without anchors; the check sheets ``c001``-``c003`` measured that pass against the
project's labels, and found the dark end one step lighter on half the faces. It was labelled again with the
anchors and measured on ``c004``-``c009`` (``training/labels/calibration.json``, README).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import cv2
import numpy as np

from training.data import load_image

from .merge import RAW_DIR, TONES, labelled_rows, read_raw
from .plan import LABELS_DIR, PER_SHEET
from .sheets import fit_tile, render_sheet

FIRST_CHECK = (("light", 12), ("medium_light", 18), ("medium", 20), ("medium_dark", 20), ("dark", 20))
LATER_CHECK = (("light", 4), ("medium_light", 6), ("medium", 7), ("medium_dark", 7), ("dark", 6))
ANCHORS_PER_STEP = 12  # two sheets of six per step


def _by_path(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(rows, key=lambda r: r["path"])


def calibration_faces() -> tuple[dict[str, list[dict[str, str]]], list[dict[str, str]]]:
    """(anchors per step, check rows ``{sheet, n, path, skin_tone, group}`` for c001-c009), drawn with fixed
    seeds from the first-pass FairFace labels that are not held out."""
    first, again = labelled_rows()
    pool = [r for r in first if r["dataset"] == "fairface_train" and r["holdout"] == "no"
            and r["usable"] == "yes" and r["skin_tone"]]
    checks: list[dict[str, str]] = []

    def add_sheets(picked: list[dict[str, str]], first_sheet: int) -> None:
        for k in range(len(picked) // PER_SHEET):
            for i, r in enumerate(picked[k * PER_SHEET : (k + 1) * PER_SHEET]):
                checks.append({"sheet": f"c{first_sheet + k:03d}", "n": str(i + 1), "path": r["path"],
                               "skin_tone": r["skin_tone"], "group": r["group"]})

    rng = random.Random(42)
    steps = {t: _by_path([r for r in pool if r["skin_tone"] == t]) for t in TONES}
    picked = [r for t, n in FIRST_CHECK for r in rng.sample(steps[t], n)]
    rng.shuffle(picked)
    add_sheets(picked, 1)

    # Anchors: clear cases, where the blind second pass gave the same tone, and no "unsure" note.
    by_face = {(r["dataset"], r["path"]): r for r in first}
    agreed = {(r["dataset"], r["path"]) for r in again
              if (f := by_face.get((r["dataset"], r["path"]))) and f["skin_tone"] and f["skin_tone"] == r["skin_tone"]
              and f["usable"] == "yes"}
    clear = [r for r in pool if "unsure" not in r["note"] and r["path"] not in {c["path"] for c in checks}]
    rng = random.Random(7)
    anchors = {}
    for t in TONES:
        sure = _by_path([r for r in clear if r["skin_tone"] == t and (r["dataset"], r["path"]) in agreed])
        rest = _by_path([r for r in clear if r["skin_tone"] == t and (r["dataset"], r["path"]) not in agreed])
        chosen = rng.sample(sure, min(ANCHORS_PER_STEP, len(sure)))
        anchors[t] = chosen + rng.sample(rest, ANCHORS_PER_STEP - len(chosen))
    taken = {c["path"] for c in checks} | {r["path"] for v in anchors.values() for r in v}
    left = {t: [r for r in clear if r["skin_tone"] == t and r["path"] not in taken] for t in TONES}
    for k in range(6):
        part = []
        for t, n in LATER_CHECK:
            part += rng.sample(_by_path(left[t]), n)
            left[t] = [r for r in left[t] if r not in part]
        rng.shuffle(part)
        add_sheets(part, 4 + k)
    return anchors, checks


def render_anchor_sheet(faces: dict[str, list[np.ndarray]], title: str, tile: int = 150) -> np.ndarray:
    """One row per step, the step's name on the left, its faces to the right (``H x W x 3`` BGR)."""
    pad, label_w, top = 4, 170, 30
    cols = max(len(v) for v in faces.values())
    sheet = np.full((top + len(faces) * (tile + pad), label_w + cols * (tile + pad), 3), 255, np.uint8)
    cv2.putText(sheet, title, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (step, images) in enumerate(faces.items()):
        y0 = top + i * (tile + pad)
        cv2.putText(sheet, f"{i + 1} {step}", (4, y0 + tile // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                    cv2.LINE_AA)
        for j, image in enumerate(images):
            x0 = label_w + j * (tile + pad)
            sheet[y0 : y0 + tile, x0 : x0 + tile] = fit_tile(image, tile)
    return sheet


def render_calibration(out_dir: Path) -> list[Path]:
    """Anchor sheets A1, A2 and check sheets c001-c009 as PNG, and ``check_key.csv`` (the project's labels)."""
    anchors, checks = calibration_faces()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for a in range(2):
        faces = {t: [load_image(r["dataset"], r["path"]) for r in anchors[t][a * 6 : (a + 1) * 6]] for t in TONES}
        path = out_dir / f"A{a + 1}.png"
        cv2.imwrite(str(path), render_anchor_sheet(
            faces, f"anchor sheet A{a + 1}: faces already labelled (labels of the project), one row per step"))
        written.append(path)
    for sheet in sorted({c["sheet"] for c in checks}):
        rows = [c for c in checks if c["sheet"] == sheet]
        images = [load_image("fairface_train", r["path"]) for r in rows]
        path = out_dir / f"{sheet}.png"
        cv2.imwrite(str(path), render_sheet(images, [int(r["n"]) for r in rows], f"sheet {sheet}"))
        written.append(path)
    with (out_dir / "check_key.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=("sheet", "n", "path", "skin_tone", "group"))
        w.writeheader()
        w.writerows(checks)
    return written


def score(checks: list[dict[str, str]], answers: dict[tuple[str, int], str]) -> dict:
    """A labeller's tones (``(sheet, n) → tone``, blank = not judged) against the project's labels: exact,
    within one step, the mean signed step difference (labeller − project; < 0 = lighter), per project step."""
    pairs = [(TONES.index(c["skin_tone"]), TONES.index(answers[(c["sheet"], int(c["n"]))])) for c in checks
             if answers.get((c["sheet"], int(c["n"])))]
    diffs = [b - a for a, b in pairs]
    n = len(diffs)
    per_step = {}
    for i, t in enumerate(TONES):
        d = [b - a for a, b in pairs if a == i]
        if d:
            per_step[t] = {"n": len(d), "mean_shift": round(sum(d) / len(d), 3)}
    return {
        "n": n,
        "exact": round(sum(d == 0 for d in diffs) / n, 3) if n else None,
        "within_one": round(sum(abs(d) <= 1 for d in diffs) / n, 3) if n else None,
        "mean_shift": round(sum(diffs) / n, 3) if n else None,
        "per_project_step": per_step,
    }


CALIBRATION_RAW = RAW_DIR / "calibration"
CALIBRATION_PATH = LABELS_DIR / "calibration.json"


def write_calibration_report(raw_dir: Path = CALIBRATION_RAW, out: Path = CALIBRATION_PATH) -> dict:
    """Score the labellers' check sheets (``raw/calibration/<sheet>[_<labeller>].csv``) → ``calibration.json``:
    without anchors (c001-c003, each labeller apart) and with anchors (c004-c009, one labeller per sheet)."""
    _, checks = calibration_faces()
    report: dict = {"without_anchors": {}, "with_anchors": {}}
    for path in sorted(raw_dir.glob("c*.csv")):
        sheet, _, who = path.stem.partition("_")
        answers = {(sheet, n): row["skin_tone"] for n, row in read_raw(path.stem, raw_dir).items()}
        part = "without_anchors" if int(sheet[1:]) <= 3 else "with_anchors"
        report[part].setdefault(who or "one labeller per sheet", {}).update(answers)
    for part in report.values():
        for who, answers in part.items():
            sheets = {s for s, _ in answers}
            part[who] = {"sheets": sorted(sheets), **score([c for c in checks if c["sheet"] in sheets], answers)}
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report
