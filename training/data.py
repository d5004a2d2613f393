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

from services.contracts import EMOTIONS, EYEWEAR, FRAME_SHAPES, MASKS, SKIN_TONES
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
    """FER2013 (its splits) plus TFEID's posed expressions: TFEID train trains; its val and test are kept
    apart as ``tfeid_val`` / ``tfeid_test`` so FER2013's PublicTest alone chooses the checkpoint."""
    index = {name: i for i, name in enumerate(EMOTIONS)}
    fer = [Sample("fer2013", r["path"], index[r["label"]], r["split"]) for r in read_manifest("fer2013")]
    tfeid = [
        Sample("tfeid", r["path"], index[r["label"]], r["split"] if r["split"] == "train" else f"tfeid_{r['split']}")
        for r in read_manifest("tfeid")
    ]
    return fer + tfeid


_FAMILY = re.compile(r"Augmented_(\d+)_")


def facemask12k_family(orig_name: str, sha1: str) -> str:
    match = _FAMILY.search(orig_name)
    return f"aug{match.group(1)}" if match else sha1


def samples_for_mask() -> list[Sample]:
    """Mask samples. Hand labels (``faces.csv``) win over a set's own label and reach every sibling of the
    labelled photo (FaceMask-12K augmentation family, seed duplicate cluster): real ``mask_incorrect`` wear lives
    only there. Photos whose hand-labelled twin is held out are ``test``; the rest keep their set's split
    (FaceMask-12K regrouped by family, the others as given). Group ``hand`` marks the hand-labelled rows, so the
    card can report the held-out real photos apart."""
    index = {name: i for i, name in enumerate(MASKS)}
    hand: dict[str, dict[str, str]] = {}
    for r in read_face_labels() if FACE_LABELS_PATH.exists() else []:
        if r["usable"] == "yes":
            hand.setdefault(r["photo"], r)
    samples: list[Sample] = []

    def add(dataset: str, path: str, photo: str, label: str, split: str) -> None:
        h = hand.get(photo)
        if h is None:
            samples.append(Sample(dataset, path, index[label], split))
        else:
            samples.append(Sample(dataset, path, index[h["mask"]], label_split(h), "hand"))

    for r in read_manifest("facemask12k"):
        family = facemask12k_family(r["orig_name"], r["sha1"])
        add("facemask12k", r["path"], "facemask12k:" + family, r["label"], hash_split("fm12k:" + family))
    for r in read_manifest("maskedfacenet"):
        samples.append(Sample("maskedfacenet", r["path"], index[r["label"]], r["split"]))
    seen: set[str] = set()
    for r in read_manifest("seed_attributes"):
        # Only the mask task has true no-mask negatives; the mask_glasses "none" class is masked faces.
        if r["task"] == "mask" and r["path"] not in seen:
            seen.add(r["path"])
            add("seed_attributes", r["path"], "seed_attributes:" + r["dup_cluster"], r["label"], r["split"])
    return samples


def samples_for_eyewear() -> list[Sample]:
    """Real eyewear photos, one row per photo:

    - our hand labels (``faces.csv``: FairFace, FaceMask-12K, seed photos; not round 5), usable faces; test =
      held-out photos;
    - the seed photos' ``eyewear`` column for duplicate clusters we did not label (``glasses_or_sunglasses``
      is not a type and is skipped); held-out by the same photo hash, so a held-out cluster never trains;
    - CMU faces (grey) by their ``eyewear`` column, split by person as given.
    """
    index = {name: i for i, name in enumerate(EYEWEAR)}
    samples: list[Sample] = []
    labelled = read_face_labels() if FACE_LABELS_PATH.exists() else []
    for r in labelled:
        # Glasses pasted onto a photo (a few seed photos; labellers noted "drawn-on") are not real eyewear.
        if r["usable"] == "yes" and r["eyewear"] in index and "drawn" not in r["note"]:
            samples.append(Sample(r["dataset"], r["path"], index[r["eyewear"]], label_split(r), r["group"]))
    done = {r["photo"] for r in labelled}
    for r in sorted(read_manifest("seed_attributes"), key=lambda r: r["path"]):
        photo = "seed_attributes:" + r["dup_cluster"]
        if r["eyewear"] in index and photo not in done:
            done.add(photo)
            row = {"photo": photo, "holdout": "yes" if is_holdout(photo) else "no"}
            samples.append(Sample("seed_attributes", r["path"], index[r["eyewear"]], label_split(row), "seed_web"))
    for r in read_manifest("cmu_faces"):
        samples.append(Sample("cmu_faces", r["path"], index[r["eyewear"]], r["split"], "cmu_grey"))
    return samples


def samples_for_frame() -> list[Sample]:
    """The seed photos' ``glasses_shape`` task (frontal 128 px crops; round vs rectangle), one photo per
    duplicate cluster, split by the photo hash (held-out 20 %, val 10 % of the rest). The
    ``mask_glasses_shape`` task is left out: its rotation corners mark 'rectangle' (datasheet, trap 2)."""
    index = {"round": FRAME_SHAPES.index("round"), "rectangle": FRAME_SHAPES.index("rectangular")}
    seen: set[str] = set()
    out = []
    for r in sorted(read_manifest("seed_attributes"), key=lambda r: r["path"]):
        photo = "seed_attributes:" + r["dup_cluster"]
        if r["task"] != "glasses_shape" or photo in seen:
            continue
        seen.add(photo)
        row = {"photo": photo, "holdout": "yes" if is_holdout(photo) else "no"}
        out.append(Sample("seed_attributes", r["path"], index[r["label"]], label_split(row), "seed_web"))
    return out


def samples_for_fairface() -> list[Sample]:
    """FairFace rows, unlabelled (-1): skin-tone labels are derived (``training.skin_tone``)."""
    return [
        Sample("fairface_train", r["path"], -1, r["split"], group=f"{r['race']}|{r['gender']}")
        for r in read_manifest("fairface_train")
    ]


FACE_LABELS_PATH = REPO_ROOT / "training" / "labels" / "faces.csv"
HOLDOUT_PCT = 20
# Round 5 of the labels (``training.labelling.plan.choose_tone_rows``): darker faces from MaskedFace-Net and
# FaceMask-12K's unmasked CelebA crops, drawn for the skin-tone head. The shipped mask head trained on those
# images, so none of them is held out. They are for the tone head only, and only when asked for
# (``samples_for_skin_tone(include_tone_round=True)``): the eyewear and mask heads' sets (and held-out tests)
# stay those their weights and cards were made with.
TONE_ONLY_PURPOSES = ("tone_pointer", "tone_random")


def is_holdout(photo: str) -> bool:
    """The held-out 20 % of photos (``photo`` = a photo key, see ``training.labelling.merge.photo_key``)."""
    return int(hashlib.sha1(("holdout:" + photo).encode()).hexdigest()[:8], 16) % 100 < HOLDOUT_PCT


def read_face_labels(path: Path = FACE_LABELS_PATH, include_tone_round: bool = False) -> list[dict[str, str]]:
    """Our hand labels (``training/labels/faces.csv``, see its README): one row per labelled face. Round 5
    (``TONE_ONLY_PURPOSES``) only with ``include_tone_round``."""
    with path.open() as f:
        return [r for r in csv.DictReader(f) if include_tone_round or r["purpose"] not in TONE_ONLY_PURPOSES]


@cache
def holdout_paths() -> frozenset[tuple[str, str]]:
    """``(dataset, path)`` of every hand-labelled held-out face: no training run may read these images."""
    if not FACE_LABELS_PATH.exists():
        return frozenset()
    return frozenset((r["dataset"], r["path"]) for r in read_face_labels() if r["holdout"] == "yes")


def label_split(row: dict[str, str], val_pct: int = 10) -> str:
    """Held-out rows are ``test``; the rest split train / val by a hash of the photo (siblings stay together)."""
    if row["holdout"] == "yes":
        return "test"
    return "val" if hash_split("labels:" + row["photo"], val_pct, 0) == "val" else "train"


def samples_for_skin_tone(include_tone_round: bool = False) -> list[Sample]:
    """Hand-labelled tones (usable faces with a judged tone); test = the held-out photos.

    Round 5 (``TONE_ONLY_PURPOSES``) joins train/val only with ``include_tone_round``: the shipped tone head was
    trained without it, and retrained with it (as is, and with stronger exposure augmentation) it did not do
    better on val (skin_tone card)."""
    index = {name: i for i, name in enumerate(SKIN_TONES)}
    return [
        Sample(r["dataset"], r["path"], index[r["skin_tone"]], label_split(r), group=r["group"])
        for r in read_face_labels(include_tone_round=include_tone_round)
        if r["usable"] == "yes" and r["skin_tone"] in index
    ]


def samples_for_fairface_faces() -> list[Sample]:
    """FairFace faces as extra mask-free ("none") faces for the mask head, splits as FairFace gives them (train,
    val); the hand-labelled held-out faces are left out entirely (they are the fairness test). The few faces
    our labellers saw a mask on keep that label."""
    index = {name: i for i, name in enumerate(MASKS)}
    hand = {r["path"]: index[r["mask"]] for r in (read_face_labels() if FACE_LABELS_PATH.exists() else [])
            if r["dataset"] == "fairface_train" and r["usable"] == "yes"}
    return [Sample(s.dataset, s.path, hand.get(s.path, 0), s.split, s.group) for s in samples_for_fairface()
            if (s.dataset, s.path) not in holdout_paths()]


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
