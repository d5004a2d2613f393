"""Real photos of faces with and without clear glasses: the seed photos of the shared datasets
(``seed_attributes.zip``, read in place), chosen by their manifest, never by what our models say of them, and
only among the photos the heads never trained on (``training.data.is_holdout`` of the photo's duplicate cluster,
the held-out 20 % of the eyewear and frame heads).

- ``glasses_photos``: held-out photos of the ``glasses_shape`` task whose ``eyewear`` is ``glasses`` (frontal
  128 px crops of people in clear round or rectangular glasses), with the frame label of the folder they were
  sorted into (``round`` / ``rectangular``);
- ``no_eyewear_photos``: held-out ``skin_glasses`` photos whose ``eyewear`` is ``none``.

The datasheet (``../shared/datasets/seed_attributes.md``) says the licence is unknown: the photos are read for
tests here and never committed or shipped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from functools import cache

import cv2
import numpy as np

from training.data import DATASETS_DIR, is_holdout

SEED_ZIP = DATASETS_DIR / "seed_attributes.zip"
FRAME_OF_FOLDER = {"round": "round", "rectangle": "rectangular"}  # the task's labels -> FRAME_SHAPES


@cache
def _rows() -> tuple[dict[str, str], ...]:
    if not SEED_ZIP.exists():
        raise FileNotFoundError(f"{SEED_ZIP} is missing: the shared datasets must sit beside the repository")
    with zipfile.ZipFile(SEED_ZIP) as archive:
        text = archive.read("manifest.csv").decode("utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


def _held_out() -> list[dict[str, str]]:
    """Manifest rows of the photos held out from training (keyed by duplicate cluster, as training keys them)."""
    return [r for r in _rows() if is_holdout("seed_attributes:" + r["dup_cluster"])]


def seed_photo(path: str) -> np.ndarray:
    """One seed photo, HxWx3 uint8 BGR (as ``training.data.load_image`` decodes it)."""
    with zipfile.ZipFile(SEED_ZIP) as archive:
        data = archive.read(path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path} in {SEED_ZIP.name} does not decode")
    return image


def glasses_photos(count: int) -> list[tuple[str, str]]:
    """``count`` held-out photos of faces in clear glasses as (path, frame shape), by path order."""
    rows = sorted(
        (r for r in _held_out() if r["task"] == "glasses_shape" and r["eyewear"] == "glasses"),
        key=lambda r: r["path"],
    )
    return [(r["path"], FRAME_OF_FOLDER[r["label"]]) for r in rows[:count]]


def no_eyewear_photos(count: int) -> list[str]:
    """``count`` held-out photos of faces without eyewear, by path order."""
    rows = sorted(
        (r for r in _held_out() if r["task"] == "skin_glasses" and r["eyewear"] == "none"),
        key=lambda r: r["path"],
    )
    return [r["path"] for r in rows[:count]]


def glasses_group_photo(count: int = 3) -> np.ndarray:
    """The astronaut beside ``count`` held-out faces in clear glasses (``glasses_photos``), each enlarged to a
    240 px tile on a plain background so the detector finds it: HxWx3 uint8 BGR."""
    from photos import astronaut_bgr, compose_group_photo

    return compose_group_photo(astronaut_bgr(), [seed_photo(path) for path, _ in glasses_photos(count)])
