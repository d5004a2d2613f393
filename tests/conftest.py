"""Shared fixtures: real photos only (scikit-image's astronaut, the shared datasets)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.settings import REPO_ROOT, Settings

DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """A real 512x512 photo with one face: HxWx3 uint8 BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut_bgr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", astronaut_bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not (DATASETS / "fer2013.zip").exists():
        pytest.fail(f"datasets missing at {DATASETS}: tests need ../shared/datasets beside the repository")
    return DATASETS
