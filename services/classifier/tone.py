"""When the skin tone is "unknown": a rule on the face crop and the tone head's answer.

A face gets ``unknown`` (the emoticon stays yellow, the emoji carries no modifier) when

- the crop has almost no colour: ``colourfulness`` (the mean over pixels of max − min channel, 0–255) is below
  ``min_colourfulness`` — greyscale and near-greyscale photos, where no tone can be told; or
- the head is unsure: even its best run of three neighbouring steps holds less than ``min_confidence`` of the
  probability (:func:`tone_confidence`). Neighbours are near misses on an ordinal scale, so a face split between
  ``medium_dark`` and ``dark`` is not unsure; one split between ``medium_light`` and ``dark`` is.

Both thresholds are chosen on the validation hand labels when the head is trained and stored in the head's
manifest entry (``unknown_rule``); the model card reports the resulting ``unknown`` rate on colour photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.contracts import TONE_UNKNOWN  # noqa: F401  (re-exported: the label this rule yields)


@dataclass(frozen=True)
class UnknownToneRule:
    min_colourfulness: float = 4.0
    min_confidence: float = 0.0

    @classmethod
    def from_manifest(cls, entry: dict) -> UnknownToneRule:
        rule = entry.get("unknown_rule", {})
        return cls(float(rule.get("min_colourfulness", cls.min_colourfulness)),
                   float(rule.get("min_confidence", cls.min_confidence)))


def colourfulness(crops_rgb: np.ndarray) -> np.ndarray:
    """Mean (max − min channel) per crop, 0–255: ``N x 3 x S x S`` uint8 or float in [0, 255] → ``N``."""
    x = crops_rgb.astype(np.float32)
    return (x.max(axis=1) - x.min(axis=1)).mean(axis=(1, 2))


def tone_confidence(probabilities: np.ndarray) -> np.ndarray:
    """The largest probability mass on three neighbouring steps: ``N x K`` → ``N`` (0–1)."""
    padded = np.pad(probabilities, ((0, 0), (1, 1)))
    return (padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]).max(axis=1)


def unknown_tone(probabilities: np.ndarray, colour: np.ndarray, rule: UnknownToneRule) -> np.ndarray:
    """Which faces get ``unknown``: ``probabilities`` ``N x 5``, ``colour`` ``N`` (from :func:`colourfulness`)
    → ``N`` bool."""
    return (colour < rule.min_colourfulness) | (tone_confidence(probabilities) < rule.min_confidence)
