"""What each head is: labels, input, preprocessing, crop margin, data and training recipe.

The serving side reads the same facts from ``models/manifest.json`` (written by ``training.export``), so the
two cannot drift: ``crop_margin``, ``input_size``, ``colour`` and ``mean``/``std`` are copied there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from services.contracts import HEAD_LABELS, OPTIONAL_HEAD_LABELS
from services.crop import EYE_REGION

from .augment import AugmentConfig
from .data import (
    Sample,
    samples_for_emotion,
    samples_for_eyewear,
    samples_for_frame,
    samples_for_mask,
    samples_for_skin_tone,
)


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
    balance_power: float = 0.0  # > 0: draw each sample with weight count(class)^-power (0.5: between as-is and even)
    channels_last: bool = True  # NHWC convolutions: 2.3x faster training on the 2-core AVX2 box (measured)
    erase_prob: float = 0.0  # random erasing: one grey rectangle of 2-20 % of the area per picked image
    mixup_alpha: float = 0.0  # > 0: mix pairs of images and their (smoothed) labels, Beta(alpha, alpha)
    ordinal: bool = False  # ordered labels (skin tone): cumulative-logit head and loss (training.model)
    occlude_mask_prob: float = 0.0  # paste a mask (training.occluders) on this share of training crops
    occlude_sunglasses_prob: float = 0.0
    mask_consistency: float = 0.0  # ordinal heads: > 0 also trains on every face masked, pulled to its unmasked answer
    region: dict[str, float] | None = None  # look at a part of the face box only (services.crop.region_box)
    jpeg_prob: float = 0.0  # re-encode this share of training crops as low-quality JPEG
    wear_prob: float = 0.0  # mask head: give this share of mask-free crops a mask, worn right or wrong (occluders)
    flip_average: bool = False  # serving averages each face with its mirror (manifest flip_average)
    select_on: str = "accuracy"  # the validation figure that picks the best epoch: "accuracy" or "macro_f1"
    temperature_scaling: bool = False  # fit a temperature on val, bake it into the ONNX (calibrated output)
    int8: bool = False  # ship a statically quantised int8 ONNX (training.quantize), the fp32 one kept beside it
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
        width=32,
        epochs=60,
        lr=0.05,
        erase_prob=0.5,
        augment=AugmentConfig(max_rotate_deg=12, scale_range=(0.85, 1.15), max_shift=0.08),
        int8=True,  # 3.2x faster on one thread, FER2013 val 63.7 → 63.9 % (training.quantize)
    ),
    "mask": HeadSpec(
        name="mask",
        labels=HEAD_LABELS["mask"],
        input_size=64,
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_mask,
        epochs=10,
        batch_size=64,
        lr=0.03,
        balanced=True,
        jpeg_prob=0.4,
        # Real masks cut from masked training faces (and drawn ones) pasted on mask-free faces, over the nose or
        # below it: real wrong wear is 114 training faces. Rare-class skill decides the epoch, not accuracy.
        wear_prob=0.25,
        select_on="macro_f1",
        # Down-then-up sampling to 19-51 px and JPEG blocks: crowd faces are 24-60 px wide and soft.
        augment=AugmentConfig(colour_cast=0.15, blur_prob=0.5, grey_prob=0.05),
    ),
    "eyewear": HeadSpec(
        name="eyewear",
        labels=HEAD_LABELS["eyewear"],
        input_size=64,
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_eyewear,
        epochs=12,
        batch_size=64,
        lr=0.03,
        balanced=True,
        region=EYE_REGION,  # the eyes at 1.6x the pixels of a whole-face crop: thin frames survive
        temperature_scaling=True,
        augment=AugmentConfig(max_rotate_deg=8, scale_range=(0.9, 1.1), max_shift=0.06, colour_cast=0.15,
                              blur_prob=0.3, grey_prob=0.15),
    ),
    "skin_tone": HeadSpec(
        name="skin_tone",
        labels=HEAD_LABELS["skin_tone"],
        input_size=32,  # tone is a colour judgement: 32 px keeps it and costs a quarter of 64 px
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_skin_tone,
        width=16,
        stages=3,
        epochs=60,  # val exact 70.3 % at 40 epochs → 71.6 % at 60 (best epoch 38 of 40 was still rising)
        batch_size=64,
        lr=0.03,
        ordinal=True,
        flip_average=True,  # val: tone unchanged by a pasted mask 81.6 % → 84.9 % (mirror-averaged), exact 70.2 → 70.4 %
        balance_power=0.5,  # light, medium_dark and dark are 2-8 % of the labels each
        label_smoothing=0.0,
        occlude_mask_prob=0.5,  # half the crops masked: a pasted mask must not move the tone (was 0.3: 82 % equal)
        mask_consistency=3.0,  # val: equal under a pasted mask 81-83 % → 89-91 %; weight 6: 92-94 % but worse groups
        occlude_sunglasses_prob=0.1,
        # Mild global casts and exposure changes of the whole crop, label unchanged: the head must read the
        # skin against the light, as the labellers did (training/labels/README.md).
        augment=AugmentConfig(colour_cast=0.08, brightness=0.1, contrast=0.1, blur_prob=0.2),
    ),
    "frame": HeadSpec(
        name="frame",
        labels=OPTIONAL_HEAD_LABELS["frame"],
        input_size=64,
        colour="rgb",
        crop_margin=0.15,
        samples=samples_for_frame,
        epochs=30,
        batch_size=32,
        lr=0.02,
        balanced=True,
        region=EYE_REGION,
        temperature_scaling=True,
        augment=AugmentConfig(max_rotate_deg=8, scale_range=(0.9, 1.1), max_shift=0.06, colour_cast=0.15,
                              blur_prob=0.2, grey_prob=0.1),
    ),
}
