"""Colours of an emoticon: the skin palettes (yellow + the five Unicode skin tones) and the fixed feature colours.

The five human palettes follow the emoji modifier colours U+1F3FB..U+1F3FF (Fitzpatrick types 1-2 .. 6) as
common emoji sets draw them; ``yellow`` is the classic face-emoji colour. Colours are ``#rrggbb`` strings so they go
straight into SVG attributes; ``hex_to_rgb`` turns one into a ``(r, g, b)`` tuple of ints in 0..255 for tests and
pixel work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.contracts import SKIN_TONES, TONE_UNKNOWN, FaceAttributes, ToneChoice

logger = logging.getLogger(__name__)

# Emoji modifier code point for each human tone (the order of services.contracts.SKIN_TONES).
TONE_MODIFIERS: dict[str, str] = {
    "light": "\U0001f3fb",
    "medium_light": "\U0001f3fc",
    "medium": "\U0001f3fd",
    "medium_dark": "\U0001f3fe",
    "dark": "\U0001f3ff",
}

# Face fill per palette; the key set is "yellow" + SKIN_TONES.
SKIN_FILLS: dict[str, str] = {
    "yellow": "#ffcc4d",
    "light": "#f7dece",
    "medium_light": "#f3d2a2",
    "medium": "#d4ab88",
    "medium_dark": "#af7e57",
    "dark": "#7c533e",
}

# Eyes, brows and mouth outline; the darker skins get darker features so the expression keeps its contrast.
FEATURE_COLOURS: dict[str, str] = {
    "yellow": "#2a190e",
    "light": "#2a190e",
    "medium_light": "#2a190e",
    "medium": "#22140b",
    "medium_dark": "#170d06",
    "dark": "#0b0603",
}
# Colours shared by every palette.
MOUTH_INSIDE = "#6e1f24"
TONGUE = "#e2606b"
EYE_HIGHLIGHT = "#ffffff"
BLUSH = "#ff6f61"
TEAR = "#5ab4ee"
GLASSES_FRAME = "#26282e"
GLASSES_LENS = "#cfeaff"
SUNGLASSES_LENS = "#161a24"
MASK_FILL = "#dcedf8"
MASK_EDGE = "#8fb3cc"
MASK_PLEAT = "#a9c8dd"
MASK_LOOP = "#c9dcea"


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)`` ints in 0..255."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def shade(colour: str, factor: float) -> str:
    """Darken (factor < 1) or lighten towards white (factor > 1) a ``#rrggbb`` colour; returns ``#rrggbb``."""
    r, g, b = hex_to_rgb(colour)
    if factor <= 1:
        channels = [round(c * factor) for c in (r, g, b)]
    else:
        t = min(factor - 1, 1.0)
        channels = [round(c + (255 - c) * t) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in channels)


@dataclass(frozen=True)
class SkinPalette:
    """The colours that depend on the skin: ``fill`` (the face), ``edge`` (outline), ``nose`` (its shading) and
    ``feature`` (eyes, brows, mouth outline)."""

    name: str
    fill: str
    edge: str
    nose: str
    feature: str


def skin_palette(name: str) -> SkinPalette:
    """The palette called ``name`` ("yellow" or one of SKIN_TONES)."""
    fill = SKIN_FILLS[name]
    return SkinPalette(
        name=name, fill=fill, edge=shade(fill, 0.72), nose=shade(fill, 0.72), feature=FEATURE_COLOURS[name]
    )


def tone_unknown(attrs: FaceAttributes, tone: ToneChoice) -> bool:
    """True when the render follows the classifier (``tone="auto"``) and it could not tell the skin tone
    (label "unknown"); an override makes the tone known."""
    return tone == "auto" and attrs.skin_tone.label == TONE_UNKNOWN


def resolve_tone(attrs: FaceAttributes, tone: ToneChoice) -> str:
    """The palette name a render uses: the override, or for ``"auto"`` the classifier's skin-tone label.

    Returns "yellow" or one of SKIN_TONES. ``"auto"`` with the label "unknown" (the classifier cannot tell, e.g.
    a greyscale photo) draws the default yellow, as intended. An ``"auto"`` request whose label is neither a
    tone nor "unknown" also falls back to yellow, logged, so a render never fails on a vocabulary mismatch.
    """
    if tone != "auto":
        return tone
    label = attrs.skin_tone.label
    if label in SKIN_TONES:
        return label
    if label != TONE_UNKNOWN:
        logger.warning("unrecognised skin tone label, drawing yellow", extra={"label": label})
    return "yellow"
