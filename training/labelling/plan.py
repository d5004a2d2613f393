"""Which faces get labelled, and on which sheet.

The plan mixes three kinds of rows (``purpose``):

- ``random``: a race × gender-balanced random draw of FairFace (tone, eyewear, mask, usable), and a random
  draw of FaceMask-12K's masked faces (tone under a mask, how the mask is worn);
- ``pointer``: faces the shipped heads score as likely eyewear (FairFace) or likely ``mask_incorrect``
  (FaceMask-12K), so that rare classes are not missed; labelled with the same definitions;
- ``relabel``: a random 10 % of the rows above, reshuffled onto later sheets, for the blind agreement check;
- ``tone_pointer`` / ``tone_random`` (round 5, ``choose_tone_rows``): darker faces for the skin-tone head, the
  ones the shipped tone head points at and a random draw; never held out, tone only (``training.data``).

Rows are shuffled before they are cut into sheets, so every sheet mixes groups and sources.
"""

from __future__ import annotations

import csv
import random
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from services.contracts import SKIN_TONES, FaceBox
from services.settings import REPO_ROOT, get_settings
from training.data import load_image, read_manifest

LABELS_DIR = REPO_ROOT / "training" / "labels"
PLAN_PATH = LABELS_DIR / "plan.csv"
PLAN_FIELDS = ("sheet", "n", "dataset", "path", "purpose")
PER_SHEET = 30


def _whole_box(image: np.ndarray) -> FaceBox:
    h, w = image.shape[:2]
    return FaceBox.from_pixels(0, 0, w, h, w, h, 1.0)


def head_scores(rows: list[tuple[str, str]], head: str) -> np.ndarray:
    """The shipped head's probabilities (``N x K``) on each image taken as a whole-face crop."""
    from services.classifier.heads import FaceClassifier

    model = FaceClassifier(get_settings()).heads[head]
    out = []
    for dataset, path in rows:
        image = load_image(dataset, path)
        gray = image[:, :, 1]
        out.append(model.predict(model.batch(image, gray, [_whole_box(image)]))[0])
    return np.stack(out)


def choose_rows(
    fairface_per_cell: int = 200,
    fairface_pointers: int = 250,
    masked_random: int = 300,
    masked_pointers: int = 600,
    seed: int = 0,
) -> list[dict[str, str]]:
    rng = random.Random(seed)
    chosen: list[dict[str, str]] = []
    cells: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in read_manifest("fairface_train"):
        cells[f"{r['race']}|{r['gender']}"].append(r)
    rest: list[tuple[str, str]] = []
    for cell in sorted(cells):
        pool = sorted(cells[cell], key=lambda r: r["path"])
        picked = {r["path"] for r in rng.sample(pool, fairface_per_cell)}
        for r in pool:
            if r["path"] in picked:
                chosen.append({"dataset": "fairface_train", "path": r["path"], "purpose": "random"})
            else:
                rest.append(("fairface_train", r["path"]))
    p = head_scores(rest, "eyewear")
    for i in np.argsort(-(1.0 - p[:, 0]))[:fairface_pointers]:
        chosen.append({"dataset": rest[i][0], "path": rest[i][1], "purpose": "pointer"})

    masked = sorted(r["path"] for r in read_manifest("facemask12k") if r["label"] == "mask")
    picked = set(rng.sample(masked, masked_random))
    for path in sorted(picked):
        chosen.append({"dataset": "facemask12k", "path": path, "purpose": "random"})
    others = [("facemask12k", m) for m in masked if m not in picked]
    p = head_scores(others, "mask")
    for i in np.argsort(-p[:, 2])[:masked_pointers]:
        chosen.append({"dataset": others[i][0], "path": others[i][1], "purpose": "pointer"})
    return chosen


def make_plan(rows: list[dict[str, str]], relabel_share: float = 0.10, seed: int = 1) -> list[dict[str, str]]:
    """Shuffle, cut into numbered sheets, then append the blind re-label sheets."""
    rng = random.Random(seed)
    rows = rows[:]
    rng.shuffle(rows)
    plan = []
    for i, r in enumerate(rows):
        plan.append({**r, "sheet": f"s{i // PER_SHEET + 1:03d}", "n": str(i % PER_SHEET + 1)})
    again = rng.sample(rows, round(relabel_share * len(rows)))
    for i, r in enumerate(again):
        plan.append({**r, "purpose": "relabel", "sheet": f"r{i // PER_SHEET + 1:03d}", "n": str(i % PER_SHEET + 1)})
    return plan


def write_plan(plan: list[dict[str, str]], path: Path = PLAN_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=PLAN_FIELDS)
        w.writeheader()
        for r in plan:
            w.writerow({k: r[k] for k in PLAN_FIELDS})


def read_plan(path: Path = PLAN_PATH) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def choose_seed_rows(masked: int = 600, eyewear: int = 360, seed: int = 2) -> list[dict[str, str]]:
    """Round 2: the original project's photos — masked faces (how the mask is worn, tone under a mask) and
    faces its ``eyewear`` column calls glasses or sunglasses (tone; the eyewear column is checked by eye too).
    One photo per ``dup_cluster`` (the datasheet's duplicate groups)."""
    rng = random.Random(seed)
    by_cluster: dict[str, dict[str, str]] = {}
    for r in sorted(read_manifest("seed_attributes"), key=lambda r: r["path"]):
        by_cluster.setdefault(r["dup_cluster"], r)
    rows = list(by_cluster.values())
    masked_rows = [r for r in rows if r["wearing_mask"] == "mask"]
    eyewear_rows = [r for r in rows if r["wearing_mask"] != "mask" and r["eyewear"] in ("glasses", "sunglasses")]
    out = [{"dataset": "seed_attributes", "path": r["path"], "purpose": "random"}
           for r in rng.sample(masked_rows, min(masked, len(masked_rows)))]
    out += [{"dataset": "seed_attributes", "path": r["path"], "purpose": "random"}
            for r in rng.sample(eyewear_rows, min(eyewear, len(eyewear_rows)))]
    return out


def extend_plan(plan: list[dict[str, str]], rows: list[dict[str, str]], first: str, again: str,
                relabel_share: float = 0.10, seed: int = 3) -> list[dict[str, str]]:
    """Append a later round: its own sheet prefixes (``first`` for the pass, ``again`` for the re-label)."""
    done = {(r["dataset"], r["path"]) for r in plan}
    rows = [r for r in rows if (r["dataset"], r["path"]) not in done]
    extra = make_plan(rows, relabel_share, seed)
    for r in extra:
        r["sheet"] = (first if r["sheet"].startswith("s") else again) + r["sheet"][1:]
    return plan + extra


def choose_remaining_rows() -> list[dict[str, str]]:
    """Round 3: every FairFace face not yet on a sheet, and one photo per seed duplicate cluster whose eyewear
    column says glasses, sunglasses or either (more real eyewear, more tones)."""
    rows = [{"dataset": "fairface_train", "path": r["path"], "purpose": "random"}
            for r in read_manifest("fairface_train")]
    seen: set[str] = set()
    for r in sorted(read_manifest("seed_attributes"), key=lambda r: r["path"]):
        if r["dup_cluster"] in seen:
            continue
        seen.add(r["dup_cluster"])
        if r["eyewear"] in ("glasses", "sunglasses", "glasses_or_sunglasses"):
            rows.append({"dataset": "seed_attributes", "path": r["path"], "purpose": "pointer"})
    return rows


def choose_masked_rows(plan: list[dict[str, str]]) -> list[dict[str, str]]:
    """Round 4: one photo of every masked seed cluster and every FaceMask-12K masked family not yet on a sheet
    of ``plan`` (how the mask is worn: real ``mask_incorrect`` is rare, about 1 in 15 seed photos and 1 in 70
    FaceMask-12K)."""
    from training.data import facemask12k_family

    seed_cluster = {r["path"]: r["dup_cluster"] for r in read_manifest("seed_attributes")}
    family = {r["path"]: facemask12k_family(r["orig_name"], r["sha1"]) for r in read_manifest("facemask12k")}
    rows = []
    seen = {seed_cluster.get(r["path"]) if r["dataset"] == "seed_attributes" else family.get(r["path"])
            for r in plan if r["dataset"] in ("seed_attributes", "facemask12k")}
    for r in sorted(read_manifest("seed_attributes"), key=lambda r: r["path"]):
        if r["wearing_mask"] == "mask" and r["dup_cluster"] not in seen:
            seen.add(r["dup_cluster"])
            rows.append({"dataset": "seed_attributes", "path": r["path"], "purpose": "random"})
    for r in sorted(read_manifest("facemask12k"), key=lambda r: r["path"]):
        fam = family[r["path"]]
        if r["label"] == "mask" and fam not in seen:
            seen.add(fam)
            rows.append({"dataset": "facemask12k", "path": r["path"], "purpose": "random"})
    return rows


def maskedfacenet_face(orig_name: str) -> str:
    """MaskedFace-Net's FFHQ face number (``00046`` in ``archive/images/00046_Mask.jpg``): one face may appear
    with several mask placements, and they are one photo."""
    match = re.search(r"(\d{5})", orig_name)
    return match.group(1) if match else orig_name


def choose_tone_rows(plan: list[dict[str, str]], pointers: int = 350, randoms: int = 125,
                     seed: int = 9) -> list[dict[str, str]]:
    """Round 5, for skin tone: darker faces from the two sets no earlier round looked at — MaskedFace-Net's FFHQ
    faces (one image per face) and FaceMask-12K's unmasked CelebA crops. From each set, the ``pointers`` faces the
    shipped tone head scores most likely ``medium_dark`` or ``dark``, and a random ``randoms`` of the rest (so the
    round is not only as good as the head that pointed). Every face is labelled by eye like the others."""
    rng = random.Random(seed)
    done = {(r["dataset"], r["path"]) for r in plan}
    out: list[dict[str, str]] = []
    one_per_face: dict[str, str] = {}
    for r in sorted(read_manifest("maskedfacenet"), key=lambda r: r["path"]):
        one_per_face.setdefault(maskedfacenet_face(r["orig_name"]), r["path"])
    pools = {
        "maskedfacenet": sorted(p for p in one_per_face.values() if ("maskedfacenet", p) not in done),
        "facemask12k": sorted(r["path"] for r in read_manifest("facemask12k")
                              if r["label"] == "none" and ("facemask12k", r["path"]) not in done),
    }
    for dataset, paths in pools.items():
        rows = [(dataset, p) for p in paths]
        p = head_scores(rows, "skin_tone")
        darker = p[:, SKIN_TONES.index("medium_dark")] + p[:, SKIN_TONES.index("dark")]
        order = [int(i) for i in np.argsort(-darker)]
        chosen = order[:pointers]
        rest = sorted(order[pointers:])
        out += [{"dataset": dataset, "path": paths[i], "purpose": "tone_pointer"} for i in chosen]
        out += [{"dataset": dataset, "path": paths[i], "purpose": "tone_random"}
                for i in rng.sample(rest, min(randoms, len(rest)))]
    return out
