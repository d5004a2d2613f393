"""The expression of an emoticon as a point in a small parameter space, blended from emotion probabilities.

Each of the seven emotions (``services.contracts.EMOTIONS``) is one point ``EMOTION_POINTS[label]``; a face is
drawn at the probability-weighted mean of those points, so 60 % happy / 40 % surprise smiles with wide eyes and an
open mouth rather than just picking "happy". Every parameter is a plain float; the drawing maps them to geometry:

=============  ==========  ====================================================================
parameter      range       meaning
=============  ==========  ====================================================================
brow_tilt      -1 .. 1     +: inner ends pulled down (anger); -: inner ends raised (worry)
brow_raise     -1 .. 1     height of the brows above their rest position
eye_open       0.3 .. 1.5  eye height relative to a neutral eye
eye_smile      0 .. 1      lower lid pushed up: 1 turns the eye into a smiling crescent
mouth_curve    -1 .. 1     +: corners up (smile); -: corners down (frown)
mouth_open     0 .. 1      gap between the lips
mouth_width    0.4 .. 1.2  width relative to a neutral mouth
mouth_skew     -1 .. 1     one corner raised (a sneer); 0 is symmetric
blush          0 .. 1      opacity of the cheek blush
tear           0 .. 1      opacity of a tear under one eye
sweat          0 .. 1      opacity of a sweat drop on the forehead
=============  ==========  ====================================================================
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields

from services.contracts import EMOTIONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expression:
    """One point of the expression space (module docstring: each field's range and meaning); defaults = neutral."""

    brow_tilt: float = 0.0
    brow_raise: float = 0.0
    eye_open: float = 1.0
    eye_smile: float = 0.0
    mouth_curve: float = 0.0
    mouth_open: float = 0.0
    mouth_width: float = 0.7
    mouth_skew: float = 0.0
    blush: float = 0.0
    tear: float = 0.0
    sweat: float = 0.0

    def as_vector(self) -> tuple[float, ...]:
        return astuple(self)


EXPRESSION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Expression))

# How far each parameter can move; distances between expressions are measured in these units.
PARAMETER_SPANS: dict[str, float] = {
    "brow_tilt": 2.0,
    "brow_raise": 2.0,
    "eye_open": 1.2,
    "eye_smile": 1.0,
    "mouth_curve": 2.0,
    "mouth_open": 1.0,
    "mouth_width": 0.8,
    "mouth_skew": 2.0,
    "blush": 1.0,
    "tear": 1.0,
    "sweat": 1.0,
}

# One point per emotion; parameters left out keep the neutral defaults of Expression.
EMOTION_POINTS: dict[str, Expression] = {
    "angry": Expression(brow_tilt=1.0, brow_raise=-0.45, eye_open=0.8, mouth_curve=-0.7, mouth_width=0.75),
    "disgust": Expression(
        brow_tilt=0.45,
        brow_raise=-0.35,
        eye_open=0.55,
        eye_smile=0.35,
        mouth_curve=-0.55,
        mouth_open=0.3,
        mouth_width=0.85,
        mouth_skew=1.0,
    ),
    "fear": Expression(
        brow_tilt=-0.9,
        brow_raise=0.65,
        eye_open=1.35,
        mouth_curve=-0.35,
        mouth_open=0.45,
        mouth_width=1.0,
        sweat=1.0,
    ),
    "happy": Expression(
        brow_raise=0.2,
        eye_open=0.85,
        eye_smile=1.0,
        mouth_curve=1.0,
        mouth_open=0.7,
        mouth_width=1.1,
        blush=1.0,
    ),
    "neutral": Expression(),
    "sad": Expression(
        brow_tilt=-0.85, brow_raise=0.05, eye_open=0.8, mouth_curve=-1.0, mouth_width=0.9, tear=1.0
    ),
    "surprise": Expression(brow_tilt=-0.1, brow_raise=1.0, eye_open=1.45, mouth_open=1.0, mouth_width=0.42),
}


def emotion_weights(probabilities: Mapping[str, float], label: str | None = None) -> dict[str, float]:
    """Normalised weights over EMOTIONS (sum 1) from a head's probabilities.

    Unknown labels are ignored, negative and non-finite values count as 0. When nothing is left, the weight goes
    to ``label`` if it is an emotion, else to "neutral".
    """
    raw = {name: float(probabilities.get(name, 0.0)) for name in EMOTIONS}
    clean = {name: (p if math.isfinite(p) and p > 0 else 0.0) for name, p in raw.items()}
    total = sum(clean.values())
    if total <= 0:
        fallback = label if label in EMOTION_POINTS else "neutral"
        logger.warning("no usable emotion probabilities, drawing the label", extra={"label": fallback})
        return {name: (1.0 if name == fallback else 0.0) for name in EMOTIONS}
    return {name: p / total for name, p in clean.items()}


def mix_expressions(weights: Mapping[str, float]) -> Expression:
    """The weighted mean of EMOTION_POINTS; ``weights`` must already be normalised (see ``emotion_weights``)."""
    values = {
        field: sum(w * getattr(EMOTION_POINTS[name], field) for name, w in weights.items())
        for field in EXPRESSION_FIELDS
    }
    return Expression(**values)


def blend_expression(probabilities: Mapping[str, float], label: str | None = None) -> Expression:
    """Probabilities over emotion labels -> the blended expression drawn for them."""
    return mix_expressions(emotion_weights(probabilities, label))


def expression_distance(a: Expression, b: Expression) -> float:
    """Euclidean distance with every parameter scaled by its span (PARAMETER_SPANS), so all axes count alike."""
    return math.sqrt(
        sum(((getattr(a, f) - getattr(b, f)) / PARAMETER_SPANS[f]) ** 2 for f in EXPRESSION_FIELDS)
    )
