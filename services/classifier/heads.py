"""Load the heads listed in ``models/manifest.json`` (sha256 and labels checked) and classify faces.

Per image, every face is cut with ``services.crop.crop_face`` (the function training used), the crops are
stacked into one ``N x C x S x S`` float32 batch per head, and each head runs once on that batch.

Optional heads (``OPTIONAL_HEAD_LABELS``) load only when their setting is on and the manifest lists them. The one
there is, ``frame`` (``EMOTICON_FRAME_SHAPE``), runs once per image on the batch of the faces whose eyewear is
"glasses", and only those faces get ``FaceAttributes.frame``.
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

from services.contracts import (
    HEAD_LABELS,
    HEAD_NAMES,
    OPTIONAL_HEAD_LABELS,
    FaceAttributes,
    FaceBox,
    HeadOutput,
)
from services.crop import crop_face, region_box
from services.errors import ModelError
from services.settings import Settings

from .tone import TONE_UNKNOWN, UnknownToneRule, colourfulness, unknown_tone

log = logging.getLogger(__name__)

FRAME_EYEWEAR = "glasses"  # the eyewear label whose faces the frame head is asked about


def contract_labels(name: str) -> tuple[str, ...]:
    """The labels the contract fixes for head ``name``: one of the four heads or an optional one."""
    labels = HEAD_LABELS.get(name, OPTIONAL_HEAD_LABELS.get(name))
    if labels is None:
        known = ", ".join([*HEAD_LABELS, *OPTIONAL_HEAD_LABELS])
        raise ModelError(f"head {name}: not a head of the contract ({known})")
    return labels


def enabled_optional_heads(settings: Settings) -> tuple[str, ...]:
    """The optional heads the settings switch on (each still needs its manifest entry)."""
    return ("frame",) if settings.frame_shape else ()


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
    # Answer something other than labels[0] ("none") only when those labels' summed probability reaches this
    # (manifest ``decision.min_present``; chosen on validation photos, see the head's card). None: plain argmax.
    min_present: float | None = None
    # Average each face's probabilities with its mirror image's (manifest ``flip_average``): the answer no longer
    # depends on which side the light or a mask's fold falls; the head runs on a batch twice as long.
    flip_average: bool = False

    @classmethod
    def from_manifest(cls, name: str, entry: dict, model_dir: Path, threads: int = 1) -> HeadModel:
        path = model_dir / entry["file"]
        if not path.exists():
            raise ModelError(f"head {name}: {path} is missing")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            raise ModelError(f"head {name}: sha256 of {path.name} is {digest}, manifest says {entry['sha256']}")
        labels, expected = tuple(entry["labels"]), contract_labels(name)
        if labels != expected:
            raise ModelError(f"head {name}: labels {labels} differ from the contract {expected}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(labels):
            raise ModelError(f"head {name}: {path.name} outputs {width} scores for {len(labels)} labels")
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
            min_present=entry.get("decision", {}).get("min_present"),
            flip_average=bool(entry.get("flip_average", False)),
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
        """Probabilities ``N x len(labels)`` (with ``flip_average``: the mean over each crop and its mirror)."""
        if not self.flip_average:
            return softmax(self.session.run(None, {"input": batch})[0])
        both = np.concatenate([batch, batch[..., ::-1]])
        p = softmax(self.session.run(None, {"input": np.ascontiguousarray(both)})[0])
        return (p[: len(batch)] + p[len(batch) :]) / 2

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """The answered label index of each row of ``N x len(labels)`` probabilities (:func:`decide`)."""
        return decide(probabilities, self.min_present)


def decide(probabilities: np.ndarray, min_present: float | None = None) -> np.ndarray:
    """Label index per row of ``N x K`` probabilities whose column 0 is the absent class ("none"): the top
    label, except that a present label (1..K-1) is answered only when columns 1..K-1 sum to ``min_present`` or
    more — else 0. A near tie between "none" and glasses then draws no glasses."""
    p = np.atleast_2d(probabilities)
    top = p.argmax(axis=1)
    if min_present is None:
        return top
    present = p[:, 1:].sum(axis=1) >= min_present
    return np.where(present, 1 + p[:, 1:].argmax(axis=1), 0)


def head_output(head: HeadModel, probabilities: np.ndarray, label: str | None = None) -> HeadOutput:
    """One face's answer of ``head``: its decided label (or ``label``) and every label's probability."""
    return HeadOutput(
        label=label if label is not None else head.labels[int(head.decide(probabilities)[0])],
        probabilities={name: round(float(v), 5) for name, v in zip(head.labels, probabilities)},
    )


class FaceClassifier:
    """All four heads, plus the optional heads the settings enable; construct once per process."""

    def __init__(self, settings: Settings, threads: int = 1) -> None:
        manifest = load_manifest(settings.model_dir)
        missing = [h for h in HEAD_NAMES if h not in manifest.get("heads", {})]
        if missing:
            raise ModelError(f"models/manifest.json lacks heads: {', '.join(missing)}")
        self.heads = {
            name: HeadModel.from_manifest(name, manifest["heads"][name], settings.model_dir, threads)
            for name in HEAD_NAMES
        }
        # Optional heads: each needs its setting on and its manifest entry (checked like the four).
        self.optional_heads: dict[str, HeadModel] = {}
        for name in enabled_optional_heads(settings):
            entry = manifest["heads"].get(name)
            if entry is None:
                log.warning(
                    "optional head enabled but not in the manifest: its output stays absent",
                    extra={"head": name, "manifest": str(settings.model_dir / "manifest.json")},
                )
                continue
            self.optional_heads[name] = HeadModel.from_manifest(name, entry, settings.model_dir, threads)
        log.info("loaded heads", extra={"heads": [*self.heads, *self.optional_heads]})

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
        per_face = []
        for i in range(len(boxes)):
            per_head = {}
            for name, head in self.heads.items():
                override = TONE_UNKNOWN if head.unknown_rule is not None and unknown[i] else None
                per_head[name] = head_output(head, outputs[name][i], override)
            per_face.append(per_head)
        frames = self._frames(image_bgr, gray, boxes, [p["eyewear"].label for p in per_face])
        return [FaceAttributes(**per_head, frame=frames.get(i)) for i, per_head in enumerate(per_face)]

    def _frames(
        self, image_bgr: np.ndarray, gray: np.ndarray, boxes: list[FaceBox], eyewear: list[str]
    ) -> dict[int, HeadOutput]:
        """The frame head's answer for each face wearing glasses (by index), in one batch; {} when it is off."""
        head = self.optional_heads.get("frame")
        wearing = [i for i, label in enumerate(eyewear) if label == FRAME_EYEWEAR]
        if head is None or not wearing:
            return {}
        probabilities = head.predict(head.batch(image_bgr, gray, [boxes[i] for i in wearing]))
        return {i: head_output(head, p) for i, p in zip(wearing, probabilities)}
