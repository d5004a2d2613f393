"""The res10 files are fetched once per session into the configured cache (``ensure_detector_files``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.detector import FaceDetector, ensure_detector_files
from services.settings import Settings


@pytest.fixture(scope="session")
def detector_dir(settings: Settings) -> Path:
    return ensure_detector_files(settings)


@pytest.fixture(scope="session")
def detector(settings: Settings, detector_dir: Path) -> FaceDetector:
    return FaceDetector(settings)
