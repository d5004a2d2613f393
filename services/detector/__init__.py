"""Face detection stage: res10 SSD (``FaceDetector``) and its setup step (``ensure_detector_files``)."""

from services.detector.res10 import FaceDetector
from services.detector.setup import ensure_detector_files

__all__ = ["FaceDetector", "ensure_detector_files"]
