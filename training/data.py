"""Dataset readers: the zips in ``../shared/datasets/`` are read in place (``zipfile``), never unpacked.

Each head's ``samples_for_<head>()`` returns ``Sample`` rows with a deterministic split. Splits follow the
datasheets' advice:

- FER2013: the given train / val (PublicTest) / test (PrivateTest).
- FaceMask-12K: regrouped. ``Augmented_<k>_`` files are siblings of one source image ``k``; every family (and
  every other image, by its sha1) is assigned to train/val/test by a hash of its family key, so no sibling of a
  training image is in val or test.
- MaskedFace-Net, seed_attributes, CMU faces (split by person), FairFace: the given splits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from services.contracts import EMOTIONS, EYEWEAR, MASKS
from services.settings import REPO_ROOT

DATASETS_DIR = REPO_ROOT.parent / "shared" / "datasets"


@dataclass(frozen=True)
class Sample:
    dataset: str  # zip stem, e.g. "fer2013"
    path: str  # member inside the zip
    label: int  # index into the head's label vocabulary (-1: unlabelled, e.g. skin tone before labelling)
    split: str  # train | val | test
    group: str = ""  # FairFace "race|gender" for fairness reports; "" elsewhere


def datasets_dir() -> Path:
    return DATASETS_DIR


@cache
def _zip(name: str) -> zipfile.ZipFile:
    path = DATASETS_DIR / f"{name}.zip"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the datasets live in ../shared/datasets beside the repo")
    return zipfile.ZipFile(path)


def read_manifest(name: str) -> list[dict[str, str]]:
    """Rows of ``manifest.csv`` in ``<name>.zip`` as dicts."""
    text = _zip(name).read("manifest.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def load_image(dataset: str, path: str, grayscale: bool = False) -> np.ndarray:
    """Decode one member: ``HxWx3 uint8 BGR`` (or ``HxW`` when ``grayscale``)."""
    buf = np.frombuffer(_zip(dataset).read(path), dtype=np.uint8)
    flag = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    image = cv2.imdecode(buf, flag)
    if image is None:
        raise ValueError(f"cannot decode {dataset}:{path}")
    return image


def hash_split(key: str, val_pct: int = 10, test_pct: int = 10) -> str:
    """Deterministic split from a stable key: ``train`` / ``val`` / ``test``."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 100
    if bucket < test_pct:
        return "test"
    if bucket < test_pct + val_pct:
        return "val"
    return "train"


def samples_for_emotion() -> list[Sample]:
    index = {name: i for i, name in enumerate(EMOTIONS)}
    return [Sample("fer2013", r["path"], index[r["label"]], r["split"]) for r in read_manifest("fer2013")]


_FAMILY = re.compile(r"Augmented_(\d+)_")


def facemask12k_family(orig_name: str, sha1: str) -> str:
    match = _FAMILY.search(orig_name)
    return f"aug{match.group(1)}" if match else sha1


def samples_for_mask() -> list[Sample]:
    index = {name: i for i, name in enumerate(MASKS)}
    samples: list[Sample] = []
    for r in read_manifest("facemask12k"):
        split = hash_split("fm12k:" + facemask12k_family(r["orig_name"], r["sha1"]))
        samples.append(Sample("facemask12k", r["path"], index[r["label"]], split))
    for r in read_manifest("maskedfacenet"):
        samples.append(Sample("maskedfacenet", r["path"], index[r["label"]], r["split"]))
    for r in read_manifest("seed_attributes"):
        # Only the mask task has true no-mask negatives; the mask_glasses "none" class is masked faces.
        if r["task"] == "mask":
            samples.append(Sample("seed_attributes", r["path"], index[r["label"]], r["split"]))
    return samples


def samples_for_eyewear() -> list[Sample]:
    """Real eyewear photos only; ``glasses_or_sunglasses`` rows are unlabelled for type and skipped."""
    index = {name: i for i, name in enumerate(EYEWEAR)}
    samples: list[Sample] = []
    seen: set[str] = set()
    for r in read_manifest("seed_attributes"):
        if r["eyewear"] in index and r["path"] not in seen:
            seen.add(r["path"])
            samples.append(Sample("seed_attributes", r["path"], index[r["eyewear"]], r["split"]))
    for r in read_manifest("cmu_faces"):
        samples.append(Sample("cmu_faces", r["path"], index[r["eyewear"]], r["split"]))
    return samples


def samples_for_fairface() -> list[Sample]:
    """FairFace rows, unlabelled (-1): skin-tone labels are derived (``training.skin_tone``)."""
    return [
        Sample("fairface_train", r["path"], -1, r["split"], group=f"{r['race']}|{r['gender']}")
        for r in read_manifest("fairface_train")
    ]


def samples_for_skin_tone() -> list[Sample]:
    """FairFace for the tone head: its val split is our test; 10 % of its train (by hash) is our val."""
    out = []
    for s in samples_for_fairface():
        split = "test" if s.split == "val" else ("val" if hash_split("ff:" + s.path, 10, 0) == "val" else "train")
        out.append(Sample(s.dataset, s.path, s.label, split, s.group))
    return out


def subset(samples: Iterable[Sample], per_split: int | None) -> list[Sample]:
    """At most ``per_split`` samples of each split, chosen deterministically (for smoke runs)."""
    samples = list(samples)
    if not per_split:
        return samples
    out: list[Sample] = []
    for split in ("train", "val", "test"):
        rows = sorted((s for s in samples if s.split == split), key=lambda s: hashlib.sha1(s.path.encode()).hexdigest())
        out.extend(rows[:per_split])
    return out
