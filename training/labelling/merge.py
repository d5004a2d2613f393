"""Raw sheet labels + the plan → ``training/labels/faces.csv`` (one row per face) and the agreement report.

- First-pass sheets (``s*``) give each face its label; re-label sheets (``r*``) only measure agreement.
- ``holdout`` = ``yes`` for a deterministic 20 % of photos, chosen by a hash of the photo key (FairFace: the
  image; FaceMask-12K: its augmentation family, so no sibling of a held-out face trains). No training run
  reads held-out rows (``training.tone_data`` and the other label readers drop them); they are the real-photo
  test set the model cards report.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

from training.data import TONE_ONLY_PURPOSES, facemask12k_family, is_holdout, read_manifest

from .plan import LABELS_DIR, maskedfacenet_face, read_plan

RAW_DIR = LABELS_DIR / "raw"
FACES_PATH = LABELS_DIR / "faces.csv"
AGREEMENT_PATH = LABELS_DIR / "agreement.json"
COUNTS_PATH = LABELS_DIR / "counts.json"
TONES = ("light", "medium_light", "medium", "medium_dark", "dark")
ALLOWED = {
    "skin_tone": set(TONES) | {""},
    "eyewear": {"none", "glasses", "sunglasses"},
    "mask": {"none", "mask", "mask_incorrect"},
    "usable": {"yes", "no"},
}
FACE_FIELDS = ("dataset", "path", "photo", "group", "holdout", "purpose", "skin_tone", "eyewear", "mask", "usable",
               "note", "sheet", "n")


def photo_key(dataset: str, path: str, manifests: dict[str, dict[str, dict[str, str]]]) -> str:
    """The unit a split must not cut: one photo with every augmented sibling of it."""
    row = manifests[dataset][path]
    if dataset == "facemask12k":
        return "facemask12k:" + facemask12k_family(row["orig_name"], row["sha1"])
    if dataset == "seed_attributes":
        return "seed_attributes:" + row["dup_cluster"]
    if dataset == "maskedfacenet":
        return "maskedfacenet:" + maskedfacenet_face(row["orig_name"])
    return f"{dataset}:{row.get('orig_sha1') or row['sha1']}"


def held_out(photo: str, purpose: str) -> bool:
    """Whether a labelled face is in the held-out part: 20 % of photos by hash, except round 5 (tone only), whose
    images the shipped mask head trained on (``training.data.TONE_ONLY_PURPOSES``)."""
    return is_holdout(photo) and purpose not in TONE_ONLY_PURPOSES


def group_of(dataset: str, row: dict[str, str]) -> str:
    if dataset == "fairface_train":
        return f"{row['race']}|{row['gender']}"
    if dataset == "facemask12k" and row["label"] == "none":
        return "celeba_web"  # FaceMask-12K's unmasked class: CelebA crops
    return {"facemask12k": "masked_web", "seed_attributes": "seed_web", "maskedfacenet": "ffhq_masked"}.get(
        dataset, dataset)


def read_raw(sheet: str, raw_dir: Path | None = None) -> dict[int, dict[str, str]]:
    """A labeller's CSV for ``sheet`` (``raw_dir/<sheet>.csv``, default ``RAW_DIR``), values checked: n → labels."""
    path = (raw_dir or RAW_DIR) / f"{sheet}.csv"
    out = {}
    with path.open() as f:
        for r in csv.DictReader(f):
            row = {k: (r.get(k) or "").strip() for k in ("skin_tone", "eyewear", "mask", "usable", "note")}
            for key, allowed in ALLOWED.items():
                if row[key] not in allowed:
                    raise ValueError(f"{path}: n={r['n']}: {key}={row[key]!r} is not one of {sorted(allowed)}")
            out[int(r["n"])] = row
    return out


def _manifests(datasets: set[str]) -> dict[str, dict[str, dict[str, str]]]:
    return {d: {r["path"]: r for r in read_manifest(d)} for d in datasets}


def labelled_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(first-pass rows, re-label rows), each with the plan's columns, labels, photo, group and holdout."""
    plan = read_plan()
    manifests = _manifests({r["dataset"] for r in plan})
    raws: dict[str, dict[int, dict[str, str]]] = {}
    first, again = [], []
    for p in plan:
        sheet = p["sheet"]
        if sheet not in raws:
            raws[sheet] = read_raw(sheet) if (RAW_DIR / f"{sheet}.csv").exists() else {}
        label = raws[sheet].get(int(p["n"]))
        if label is None:
            continue
        photo = photo_key(p["dataset"], p["path"], manifests)
        row = {**p, **label, "photo": photo, "holdout": "yes" if held_out(photo, p["purpose"]) else "no",
               "group": group_of(p["dataset"], manifests[p["dataset"]][p["path"]])}
        (again if p["purpose"] == "relabel" else first).append(row)
    return first, again


def merge_labels() -> None:
    first, again = labelled_rows()
    with FACES_PATH.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FACE_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in sorted(first, key=lambda r: (r["dataset"], r["path"], r["sheet"])):
            w.writerow(r)
    report = agreement(first, again)
    AGREEMENT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    COUNTS_PATH.write_text(json.dumps(counts(first), indent=2) + "\n")
    print(f"{len(first)} faces → {FACES_PATH}; {len(again)} re-labelled → {AGREEMENT_PATH}")


def counts(rows: list[dict[str, str]]) -> dict:
    """Label counts: per column overall and held-out, and tone per group."""
    out: dict = {"faces": len(rows), "photos": len({r["photo"] for r in rows}),
                 "held_out_faces": sum(r["holdout"] == "yes" for r in rows)}
    for key in ("skin_tone", "eyewear", "mask", "usable"):
        out[key] = {}
        for r in rows:
            cell = out[key].setdefault(r[key] or "blank", {"all": 0, "held_out": 0})
            cell["all"] += 1
            cell["held_out"] += r["holdout"] == "yes"
    per_group: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        per_group[r["group"]][r["skin_tone"] or "blank"] += 1
        per_group[r["group"]]["held_out"] += r["holdout"] == "yes"
    out["skin_tone_per_group"] = {g: dict(sorted(v.items())) for g, v in sorted(per_group.items())}
    return out


def cohen_kappa(a: list[str], b: list[str]) -> float:
    labels = sorted(set(a) | set(b))
    n = len(a)
    if n == 0:
        return float("nan")
    po = sum(x == y for x, y in zip(a, b)) / n
    pe = sum((a.count(k) / n) * (b.count(k) / n) for k in labels)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def _tone_stats(pairs: list[tuple[str, str]]) -> dict:
    both = [(TONES.index(x), TONES.index(y)) for x, y in pairs if x and y]
    n = len(both)
    return {
        "n_both_judged": n,
        "exact": round(sum(x == y for x, y in both) / n, 3) if n else None,
        "within_one": round(sum(abs(x - y) <= 1 for x, y in both) / n, 3) if n else None,
        "judgeable_agreement": round(sum(bool(x) == bool(y) for x, y in pairs) / len(pairs), 3) if pairs else None,
    }


def agreement(first: list[dict[str, str]], again: list[dict[str, str]]) -> dict:
    """Blind second pass vs first pass on the same faces: tone exact / within-one, Cohen's κ for the rest."""
    by_face = {(r["dataset"], r["path"]): r for r in first}
    pairs = [(by_face[(r["dataset"], r["path"])], r) for r in again if (r["dataset"], r["path"]) in by_face]
    report: dict = {"n_pairs": len(pairs), "overall": {}, "per_group": {}}
    report["overall"]["skin_tone"] = _tone_stats([(a["skin_tone"], b["skin_tone"]) for a, b in pairs])
    for key in ("eyewear", "mask", "usable"):
        xs, ys = [a[key] for a, _ in pairs], [b[key] for _, b in pairs]
        report["overall"][key] = {"agreement": round(sum(x == y for x, y in zip(xs, ys)) / max(1, len(xs)), 3),
                                  "cohen_kappa": round(cohen_kappa(xs, ys), 3)}
    groups: dict[str, list] = defaultdict(list)
    for a, b in pairs:
        groups[a["group"]].append((a["skin_tone"], b["skin_tone"]))
    report["per_group"] = {g: _tone_stats(p) for g, p in sorted(groups.items())}
    return report


def print_agreement() -> None:
    print(json.dumps(json.loads(Path(AGREEMENT_PATH).read_text()), indent=2))
