"""What each head is: labels, input, preprocessing, crop margin, data and training recipe.

The serving side reads the same facts from ``models/manifest.json`` (written by ``training.export``), so the
two cannot drift: ``crop_margin``, ``input_size``, ``colour`` and ``mean``/``std`` are copied there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.contracts import HEAD_LABELS

from .augment import AugmentConfig
from .data import Sample, samples_for_emotion, samples_for_eyewear, samples_for_mask, samples_for_skin_tone


@dataclass(frozen=True)
class HeadSpec:
    name: str
    labels: tuple[str, ...]
    input_size: int
    colour: str  # "gray" or "rgb" (channel order fed to the network)
    crop_margin: float  # margin of services.crop.crop_face around a res10 box, chosen to match training framing
    samples: Callable[[], list[Sample]]
    width: int = 16
    stages: int = 4
    epochs: int = 20
    batch_size: int = 128
    lr: float = 0.05
    label_smoothing: float = 0.1
    balanced: bool = False  # sample classes evenly (small, skewed sets)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Pixel normalisation: (x/255 - mean) / std, per channel.
    mean: float = 0.5
    std: float = 0.5

    @property
    def channels(self) -> int:
        return 1 if self.colour == "gray" else 3


HEADS: dict[str, HeadSpec] = {
    "emotion": HeadSpec(
        name="emotion",
        labels=HEAD_LABELS["emotion"],
        input_size=48,
        colour="gray",
        crop_margin=0.05,  # best of 0 / 0.05 / 0.1 / 0.15 / 0.2 / 0.3 on FER val through res10 (see the card)
        samples=samples_for_emotion,
        width=24,
        epochs=13,
        augment=AugmentConfig(max_rotate_deg=12, scale_range=(0.85, 1.15), max_shift=0.08),
    ),
    "mask": HeadSpec(
        name="mask",
        labels=HEAD_LABELS["mask"],
        input_size=64,
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_mask,
        epochs=5,
        balanced=True,
        augment=AugmentConfig(colour_cast=0.15, blur_prob=0.5, grey_prob=0.05),
    ),
    "eyewear": HeadSpec(
        name="eyewear",
        labels=HEAD_LABELS["eyewear"],
        input_size=64,
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_eyewear,
        epochs=8,
        balanced=True,
        augment=AugmentConfig(colour_cast=0.15, blur_prob=0.3, grey_prob=0.2),
    ),
    "skin_tone": HeadSpec(
        name="skin_tone",
        labels=HEAD_LABELS["skin_tone"],
        input_size=64,
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_skin_tone,
        epochs=8,
        # Mild casts only: a strong cast would change the very quantity the head reads.
        augment=AugmentConfig(colour_cast=0.06, brightness=0.15, contrast=0.15, blur_prob=0.2),
    ),
}
