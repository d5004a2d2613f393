"""Load the heads listed in ``models/manifest.json`` (sha256 and labels checked) and classify faces.

Per image, every face is cut with ``services.crop.crop_face`` (the function training used), the crops are
stacked into one ``N x C x S x S`` float32 batch per head, and each head runs once on that batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from services.contracts import HEAD_LABELS, HEAD_NAMES, FaceAttributes, FaceBox, HeadOutput
from services.crop import crop_face, region_box
from services.errors import ModelError
from services.settings import Settings

from .tone import TONE_UNKNOWN, UnknownToneRule, colourfulness, unknown_tone

log = logging.getLogger(__name__)


def load_manifest(model_dir: Path) -> dict:
    path = model_dir / "manifest.json"
    if not path.exists():
        raise ModelError(f"{path} is missing: the heads ship in the repository's models/ folder")
    return json.loads(path.read_text())


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``N x K`` logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class HeadModel:
    """One ONNX head and the preprocessing its manifest entry declares."""

    name: str
    labels: tuple[str, ...]
    size: int
    colour: str  # "gray" | "rgb"
    scale: float
    mean: float
    std: float
    crop_margin: float
    session: ort.InferenceSession
    unknown_rule: UnknownToneRule | None = None  # skin_tone only: when to answer "unknown"
    region: dict[str, float] | None = None  # a sub-box of the face (services.crop.region_box), e.g. the eyes

    @classmethod
    def from_manifest(cls, name: str, entry: dict, model_dir: Path, threads: int = 1) -> HeadModel:
        path = model_dir / entry["file"]
        if not path.exists():
            raise ModelError(f"head {name}: {path} is missing")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            raise ModelError(f"head {name}: sha256 of {path.name} is {digest}, manifest says {entry['sha256']}")
        labels = tuple(entry["labels"])
        if labels != HEAD_LABELS[name]:
            raise ModelError(f"head {name}: labels {labels} differ from the contract {HEAD_LABELS[name]}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        spec = entry["input"]
        return cls(
            name=name,
            labels=labels,
            size=int(spec["size"]),
            colour=spec["colour"],
            scale=float(spec["scale"]),
            mean=float(spec["mean"]),
            std=float(spec["std"]),
            crop_margin=float(entry["crop_margin"]),
            session=session,
            unknown_rule=UnknownToneRule.from_manifest(entry) if name == "skin_tone" else None,
            region=entry.get("region"),
        )

    def batch(self, image_bgr: np.ndarray, image_gray: np.ndarray, boxes: list[FaceBox]) -> np.ndarray:
        """Crops of every box as the head's input: ``N x C x S x S`` float32."""
        crops = []
        height, width = image_bgr.shape[:2]
        for b in boxes:
            box = (b.x, b.y, b.width, b.height)
            # A box that is the whole image means "this image is the face crop" (--whole-face): it is
            # framed as it is, like the pre-cropped training sets; the margin widens detector boxes only.
            whole = b.x == 0 and b.y == 0 and b.width == width and b.height == height
            margin = 0.0 if whole else self.crop_margin
            if self.region:  # as training framed it: the region of the box (or of the whole-face image)
                box, margin = region_box(box, self.region), 0.0
            if self.colour == "gray":
                crops.append(crop_face(image_gray, box, self.size, margin)[None])
            else:
                crop = crop_face(image_bgr, box, self.size, margin)
                crops.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).transpose(2, 0, 1))
        x = np.stack(crops).astype(np.float32) * self.scale
        return (x - self.mean) / self.std

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities ``N x len(labels)``."""
        return softmax(self.session.run(None, {"input": batch})[0])


class FaceClassifier:
    """All four heads; construct once per process."""

    def __init__(self, settings: Settings, threads: int = 1) -> None:
        manifest = load_manifest(settings.model_dir)
        missing = [h for h in HEAD_NAMES if h not in manifest.get("heads", {})]
        if missing:
            raise ModelError(f"models/manifest.json lacks heads: {', '.join(missing)}")
        self.heads = {
            name: HeadModel.from_manifest(name, manifest["heads"][name], settings.model_dir, threads)
            for name in HEAD_NAMES
        }
        log.info("loaded heads", extra={"heads": list(self.heads)})

    def classify(self, image_bgr: np.ndarray, boxes: list[FaceBox]) -> list[FaceAttributes]:
        """Attributes of every face in ``image_bgr`` (``HxWx3 uint8 BGR``), in the order of ``boxes``."""
        if not boxes:
            return []
        gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        outputs: dict[str, np.ndarray] = {}
        unknown = np.zeros(len(boxes), bool)
        for name, head in self.heads.items():
            batch = head.batch(image_bgr, gray, boxes)
            outputs[name] = head.predict(batch)
            if head.unknown_rule is not None:
                pixels = (batch * head.std + head.mean) / head.scale  # back to 0-255 for the colour measure
                unknown = unknown_tone(outputs[name], colourfulness(pixels), head.unknown_rule)
        results = []
        for i in range(len(boxes)):
            per_head = {}
            for name, head in self.heads.items():
                p = outputs[name][i]
                label = head.labels[int(p.argmax())]
                if head.unknown_rule is not None and unknown[i]:
                    label = TONE_UNKNOWN
                per_head[name] = HeadOutput(
                    label=label,
                    probabilities={label: round(float(v), 5) for label, v in zip(head.labels, p)},
                )
            results.append(FaceAttributes(**per_head))
        return results
