"""The four attribute heads (ONNX, onnxruntime), loaded once per process and run once per image on the batch
of all its faces; plus the optional frame-shape head (``EMOTICON_FRAME_SHAPE``), on the faces wearing glasses."""

from .heads import FaceClassifier, HeadModel, load_manifest

__all__ = ["FaceClassifier", "HeadModel", "load_manifest"]
