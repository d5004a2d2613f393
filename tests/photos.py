"""Real photos for tests: scikit-image's astronaut and FairFace faces from the shared datasets, and a group
photo composed from them. Nothing here is committed data: the images are read from their packages/zips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np

from training.data import DATASETS_DIR

FAIRFACE_ZIP = DATASETS_DIR / "fairface_train.zip"
# Two frontal, well-lit FairFace faces (the second wears sunglasses), chosen by looking at them; CC BY 4.0.
FAIRFACE_FACES = ("train/Black/57.jpg", "train/Middle_Eastern/438.jpg")


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut: a real 512x512 one-face photo, HxWx3 uint8 BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def fairface_face(path: str) -> np.ndarray:
    """One FairFace image (a 160x160 face crop) from the shared datasets, HxWx3 uint8 BGR."""
    if not FAIRFACE_ZIP.exists():
        raise FileNotFoundError(
            f"{FAIRFACE_ZIP} is missing: the shared datasets must sit beside the repository"
        )
    with zipfile.ZipFile(FAIRFACE_ZIP) as archive:
        data = archive.read(path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path} in {FAIRFACE_ZIP.name} does not decode")
    return image


def compose_group_photo(astronaut: np.ndarray, faces_bgr: list[np.ndarray], tile: int = 240) -> np.ndarray:
    """A 400 px high group picture: the astronaut's head and shoulders (from the 512x512 photo), then each face
    resized to ``tile`` px, on a plain background. Returns HxWx3 uint8 BGR."""
    height = 400
    width = 420 + len(faces_bgr) * (tile + 40)
    canvas = np.full((height, width, 3), (236, 228, 220), np.uint8)
    canvas[10:390, 10:390] = astronaut[0:380, 50:430]
    for i, face in enumerate(faces_bgr):
        x, y = 420 + i * (tile + 40), (height - tile) // 2
        canvas[y : y + tile, x : x + tile] = cv2.resize(face, (tile, tile), interpolation=cv2.INTER_CUBIC)
    return canvas


def group_photo() -> np.ndarray:
    """Three real faces: the astronaut and the two FairFace people of ``FAIRFACE_FACES``; HxWx3 uint8 BGR."""
    return compose_group_photo(astronaut_bgr(), [fairface_face(p) for p in FAIRFACE_FACES])


def write_mixed_photo_folder(folder: Path, astronaut: np.ndarray) -> Path:
    """A folder as users have them: a one-face JPEG, a three-face PNG in a subfolder, a face-free photo
    (scikit-image's coffee), a file that is not an image, and a truncated JPEG. Returns ``folder``."""
    from skimage import data

    cv2.imwrite(str(folder / "astronaut.jpg"), astronaut)
    (folder / "party").mkdir()
    cv2.imwrite(str(folder / "party" / "group.png"), group_photo())
    cv2.imwrite(str(folder / "coffee.jpg"), np.ascontiguousarray(data.coffee()[:, :, ::-1]))
    (folder / "notes.jpg").write_text("these are not pixels")
    _, buf = cv2.imencode(".jpg", astronaut)
    (folder / "cut.jpg").write_bytes(buf.tobytes()[: len(buf) // 3])
    return folder
