"""The emoticon as one SVG drawing: ``render_svg`` (attributes -> SVG) and ``draw_emoticon`` (parameters -> SVG).

All geometry lives in a 256 x 256 viewBox: face circle centred at (128, 128), eyes at y = 108, nose at
(128, 146), mouth centred at (128, 184). Layers, back to front: face, blush, nose, eyes, mouth, mask, tear and
sweat, eyewear, brows (brows stay visible above sunglasses so the expression still reads).

The SVG uses only paths and basic shapes with fills, strokes and fill-opacity: no text, filters, clip paths,
element opacity or ids. So every renderer draws it alike, several emoticons can be inlined in one HTML page
without id clashes, and the rasteriser never needs an offscreen layer (clip paths and group opacity each cost
a full-canvas layer: the clipped mask made a masked face ~40 % slower to rasterise when we measured it in resvg).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from xml.sax.saxutils import escape

from services.contracts import EYEWEAR, FRAME_SHAPES, MASKS, FaceAttributes, FrameChoice, RenderOptions

from .expression import Expression, blend_expression, emotion_weights
from .palette import (
    BLUSH,
    EYE_HIGHLIGHT,
    GLASSES_FRAME,
    GLASSES_LENS,
    MASK_EDGE,
    MASK_FILL,
    MASK_LOOP,
    MASK_PLEAT,
    MOUTH_INSIDE,
    SUNGLASSES_LENS,
    TEAR,
    TONGUE,
    SkinPalette,
    resolve_tone,
    skin_palette,
    tone_unknown,
)

logger = logging.getLogger(__name__)

VIEWBOX_SIDE = 256
FACE_CENTRE = (128.0, 128.0)
FACE_RADIUS = 116.0
EYE_Y = 108.0
EYE_XS = (90.0, 166.0)  # viewer's left, viewer's right
EYE_HALF_WIDTH = 13.0
EYE_HALF_HEIGHT = 18.0
NOSE_CENTRE = (128.0, 146.0)
MOUTH_CENTRE = (128.0, 184.0)
MOUTH_HALF_WIDTH = 40.0  # at mouth_width = 1
MOUTH_LIFT = 20.0  # corner lift at mouth_curve = 1
MOUTH_GAP = 44.0  # lip gap at mouth_open = 1

_K = 4.0 / 3.0  # cubic control offset that makes a half-ellipse of a Bezier


def _n(value: float) -> str:
    """A coordinate as short SVG text (2 decimals, no trailing zeros)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _face(palette: SkinPalette) -> str:
    cx, cy = FACE_CENTRE
    return (
        f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(FACE_RADIUS)}" fill="{palette.fill}" '
        f'stroke="{palette.edge}" stroke-width="4"/>'
    )


def _blush(e: Expression) -> str:
    if e.blush <= 0.001:
        return ""
    opacity = 0.42 * _clamp(e.blush)
    return "".join(
        f'<ellipse cx="{_n(x)}" cy="150" rx="19" ry="11" fill="{BLUSH}" fill-opacity="{_n(opacity)}"/>'
        for x in (64.0, 192.0)
    )


def _nose(palette: SkinPalette) -> str:
    cx, cy = NOSE_CENTRE
    return (
        f'<path d="M{_n(cx - 11)} {_n(cy - 3)} Q{_n(cx)} {_n(cy + 12)} {_n(cx + 11)} {_n(cy - 3)}" '
        f'fill="none" stroke="{palette.nose}" stroke-width="6" stroke-linecap="round"/>'
    )


def _eye(cx: float, e: Expression, feature: str) -> str:
    w = EYE_HALF_WIDTH
    top = EYE_HALF_HEIGHT * max(e.eye_open, 0.05)
    bottom = top * (1.0 - 1.7 * _clamp(e.eye_smile))  # < 0: lower lid above the corners = crescent
    cy = EYE_Y
    d = (
        f"M{_n(cx - w)} {_n(cy)} C{_n(cx - w)} {_n(cy - _K * top)} {_n(cx + w)} {_n(cy - _K * top)} "
        f"{_n(cx + w)} {_n(cy)} C{_n(cx + w)} {_n(cy + _K * bottom)} {_n(cx - w)} {_n(cy + _K * bottom)} "
        f"{_n(cx - w)} {_n(cy)}Z"
    )
    out = f'<path d="{d}" fill="{feature}" stroke="{feature}" stroke-width="3" stroke-linejoin="round"/>'
    glint = (1.0 - _clamp(e.eye_smile)) * _clamp((e.eye_open - 0.35) / 0.4)
    if glint > 0.01:
        out += (
            f'<circle cx="{_n(cx + 0.3 * w)}" cy="{_n(cy - 0.4 * top)}" r="{_n(3.2 + 1.2 * min(e.eye_open, 1.4))}" '
            f'fill="{EYE_HIGHLIGHT}" fill-opacity="{_n(0.9 * glint)}"/>'
        )
    return out


def _brows(e: Expression, feature: str) -> str:
    base = EYE_Y - 34.0 - 14.0 * e.brow_raise
    parts = []
    for side, cx in ((-1.0, EYE_XS[0]), (1.0, EYE_XS[1])):
        # side -1 is the viewer's left brow; its inner end points right (towards the nose).
        sneer = 5.0 * e.mouth_skew * side  # a sneer lowers one brow and lifts the other
        inner_x, outer_x = cx - side * 16.0, cx + side * 19.0
        inner_y = base + 9.0 * e.brow_tilt - sneer
        outer_y = base - 6.0 * e.brow_tilt - sneer
        mid_x, mid_y = (inner_x + outer_x) / 2, min(inner_y, outer_y) - 4.0
        parts.append(
            f'<path d="M{_n(outer_x)} {_n(outer_y)} Q{_n(mid_x)} {_n(mid_y)} {_n(inner_x)} {_n(inner_y)}" '
            f'fill="none" stroke="{feature}" stroke-width="7" stroke-linecap="round"/>'
        )
    return "".join(parts)


@dataclass(frozen=True)
class _MouthGeometry:
    """Lip corners and the shared cubic control abscissae; lips differ only in their control height."""

    left: tuple[float, float]
    right: tuple[float, float]
    spread: float
    upper_ctrl: float
    lower_ctrl: float


def _mouth_geometry(e: Expression) -> _MouthGeometry:
    mcx, mcy = MOUTH_CENTRE
    half = MOUTH_HALF_WIDTH * max(e.mouth_width, 0.2)
    lift = MOUTH_LIFT * e.mouth_curve
    skew = 9.0 * e.mouth_skew
    corner_y = mcy - lift
    gap = MOUTH_GAP * _clamp(e.mouth_open)
    upper_mid, lower_mid = mcy - 0.3 * gap, mcy + 0.7 * gap
    # A cubic with equal control heights peaks at 0.25 * corner + 0.75 * control: solve for the control height.
    # Narrow mouths get controls out at the corners (round "O"), wide ones pulled in (smooth smile).
    return _MouthGeometry(
        left=(mcx - half, corner_y + skew),
        right=(mcx + half, corner_y - skew),
        spread=half * (0.6 + 0.4 * _clamp((1.0 - e.mouth_width) / 0.6)),
        upper_ctrl=(upper_mid - 0.25 * corner_y) / 0.75,
        lower_ctrl=(lower_mid - 0.25 * corner_y) / 0.75,
    )


def _lens_path(g: _MouthGeometry, top_ctrl: float, bottom_ctrl: float) -> str:
    """The region between two lip-like cubics through both corners. For control heights between the lips' the
    region lies inside the mouth (y is linear in the control height at every curve parameter), so teeth and
    tongue need no clip path."""
    mcx = MOUTH_CENTRE[0]
    (lx, ly), (rx, ry) = g.left, g.right
    return (
        f"M{_n(lx)} {_n(ly)} C{_n(mcx - g.spread)} {_n(top_ctrl)} {_n(mcx + g.spread)} {_n(top_ctrl)} "
        f"{_n(rx)} {_n(ry)} C{_n(mcx + g.spread)} {_n(bottom_ctrl)} {_n(mcx - g.spread)} {_n(bottom_ctrl)} "
        f"{_n(lx)} {_n(ly)}Z"
    )


def _mouth(e: Expression, feature: str) -> str:
    g = _mouth_geometry(e)
    outline = _lens_path(g, g.upper_ctrl, g.lower_ctrl)
    inside = ""
    openness = _clamp(e.mouth_open)
    if openness > 0.02:
        depth = g.lower_ctrl - g.upper_ctrl
        teeth = _clamp(e.mouth_curve * 1.5) * _clamp(openness * 3.0)
        if teeth > 0.01:
            inside += (
                f'<path d="{_lens_path(g, g.upper_ctrl, g.upper_ctrl + 0.33 * depth)}" fill="#ffffff" '
                f'fill-opacity="{_n(teeth)}"/>'
            )
        inside += (
            f'<path d="{_lens_path(g, g.lower_ctrl - 0.45 * depth, g.lower_ctrl)}" fill="{TONGUE}" '
            f'fill-opacity="{_n(_clamp(openness * 2.5))}"/>'
        )
    return (
        f'<path d="{outline}" fill="{MOUTH_INSIDE}"/>{inside}'
        f'<path d="{outline}" fill="none" stroke="{feature}" stroke-width="6" stroke-linejoin="round" '
        f'stroke-linecap="round"/>'
    )


def _drops(e: Expression) -> str:
    parts = []
    if e.tear > 0.01:
        x, y = EYE_XS[0] - 6.0, EYE_Y + 20.0
        parts.append(
            f'<path d="M{_n(x)} {_n(y)} C{_n(x - 3)} {_n(y + 9)} {_n(x - 11)} {_n(y + 17)} {_n(x - 11)} {_n(y + 24)} '
            f'A11 11 0 0 0 {_n(x + 11)} {_n(y + 24)} C{_n(x + 11)} {_n(y + 17)} {_n(x + 3)} {_n(y + 9)} {_n(x)} {_n(y)}Z" '
            f'fill="{TEAR}" fill-opacity="{_n(_clamp(e.tear))}"/>'
        )
    if e.sweat > 0.01:
        x, y = 198.0, 44.0
        parts.append(
            f'<path d="M{_n(x)} {_n(y)} C{_n(x - 3)} {_n(y + 8)} {_n(x - 10)} {_n(y + 15)} {_n(x - 10)} {_n(y + 22)} '
            f'A10 10 0 0 0 {_n(x + 10)} {_n(y + 22)} C{_n(x + 10)} {_n(y + 15)} {_n(x + 3)} {_n(y + 8)} {_n(x)} {_n(y)}Z" '
            f'fill="{TEAR}" fill-opacity="{_n(_clamp(e.sweat))}"/>'
        )
    return "".join(parts)


@dataclass(frozen=True)
class _MaskShape:
    """A surgical mask: upper edge centre height, side corner height and the bottom curve's control height."""

    top: float
    corner: float
    bottom_ctrl: float
    tilt_deg: float


# A correct mask runs from over the nose to the chin, inside the face outline; a loosely worn one sits under
# the nose, askew, and sags past the chin (its lower corners stick out of the face).
MASK_SHAPES: dict[str, _MaskShape] = {
    "mask": _MaskShape(top=134.0, corner=204.0, bottom_ctrl=258.0, tilt_deg=0.0),
    "mask_incorrect": _MaskShape(top=160.0, corner=220.0, bottom_ctrl=262.0, tilt_deg=-5.0),
}


def _mask(kind: str) -> str:
    shape = MASK_SHAPES[kind]
    top = shape.top
    body = (
        f"M34 {_n(top + 10)} Q128 {_n(top - 14)} 222 {_n(top + 10)} "
        f"L212 {_n(shape.corner)} Q128 {_n(shape.bottom_ctrl)} 44 {_n(shape.corner)}Z"
    )
    loops = "".join(
        f'<path d="M{_n(x0)} {_n(y0)} Q{_n(xc)} {_n(yc)} {_n(x1)} {_n(y1)}" fill="none" stroke="{MASK_LOOP}" '
        f'stroke-width="3" stroke-linecap="round"/>'
        for x0, y0, xc, yc, x1, y1 in (
            (36, top + 14, 18, top + 2, 16, 112),
            (44, shape.corner - 4, 16, top + 30, 16, 112),
            (220, top + 14, 238, top + 2, 240, 112),
            (212, shape.corner - 4, 240, top + 30, 240, 112),
        )
    )
    pleat_gap = (shape.corner - top) / 3.2
    pleats = "".join(
        f'<path d="M{_n(56 + i * 2)} {_n(top + dy)} Q128 {_n(top + dy + 8)} {_n(200 - i * 2)} {_n(top + dy)}" '
        f'fill="none" stroke="{MASK_PLEAT}" stroke-width="3" stroke-linecap="round"/>'
        for i, dy in enumerate((pleat_gap, 2 * pleat_gap, 3 * pleat_gap))
    )
    # A transform on a group costs nothing extra to rasterise (unlike opacity or clipping, which need a layer).
    tilt = f' transform="rotate({_n(shape.tilt_deg)} 128 200)"' if shape.tilt_deg else ""
    return (
        f"<g{tilt}>{loops}"
        f'<path d="{body}" fill="{MASK_FILL}" stroke="{MASK_EDGE}" stroke-width="3" stroke-linejoin="round"/>'
        f"{pleats}</g>"
    )


@dataclass(frozen=True)
class _LensShape:
    """One clear-glasses lens around an eye centre: a rounded rectangle (a circle when the corner radius is both
    half sides), and how far from the eye's centre the bridge (at EYE_Y - 8) and the temples (EYE_Y - 14) meet
    its outline."""

    half_width: float
    half_height: float
    corner: float
    bridge_dx: float
    temple_dx: float


# None: the lenses drawn when the frame shape is not known (no frame output): soft-cornered, between the two.
# Round: circles; rectangular: wider than tall with tight corners. Eyes (up to 26 px above EYE_Y when wide open)
# stay inside all but the rectangular lens's top edge, which they touch only in surprise.
LENS_SHAPES: dict[str | None, _LensShape] = {
    None: _LensShape(half_width=27, half_height=25, corner=17, bridge_dx=27, temple_dx=27),
    "round": _LensShape(half_width=27, half_height=27, corner=27, bridge_dx=25.8, temple_dx=23.1),
    "rectangular": _LensShape(half_width=29, half_height=24, corner=5, bridge_dx=29, temple_dx=29),
}


def _lens(cx: float, shape: _LensShape) -> str:
    paint = f'fill="{GLASSES_LENS}" fill-opacity="0.28" stroke="{GLASSES_FRAME}" stroke-width="5"'
    if shape.corner >= shape.half_width == shape.half_height:
        return f'<circle cx="{_n(cx)}" cy="{_n(EYE_Y)}" r="{_n(shape.half_width)}" {paint}/>'
    return (
        f'<rect x="{_n(cx - shape.half_width)}" y="{_n(EYE_Y - shape.half_height)}" '
        f'width="{_n(2 * shape.half_width)}" height="{_n(2 * shape.half_height)}" rx="{_n(shape.corner)}" {paint}/>'
    )


def _glasses(frame: str | None = None) -> str:
    """Clear glasses with lenses of ``frame`` (one of FRAME_SHAPES, or None: the default lenses)."""
    shape = LENS_SHAPES[frame]
    parts = [_lens(cx, shape) for cx in EYE_XS]
    y = EYE_Y - 8
    bridge, temple = shape.bridge_dx, shape.temple_dx
    parts.append(
        f'<path d="M{_n(EYE_XS[0] + bridge)} {_n(y)} Q128 {_n(y - 10)} {_n(EYE_XS[1] - bridge)} {_n(y)}" fill="none" '
        f'stroke="{GLASSES_FRAME}" stroke-width="5" stroke-linecap="round"/>'
        f'<path d="M{_n(EYE_XS[0] - temple)} {_n(y - 6)} L16 {_n(y - 12)}M{_n(EYE_XS[1] + temple)} {_n(y - 6)} '
        f'L240 {_n(y - 12)}" fill="none" stroke="{GLASSES_FRAME}" stroke-width="5" stroke-linecap="round"/>'
    )
    return "".join(parts)


def _sunglasses() -> str:
    top = EYE_Y - 20
    parts = []
    for cx in EYE_XS:
        left, right = cx - 31, cx + 31
        parts.append(
            f'<path d="M{_n(left)} {_n(top)} L{_n(right)} {_n(top)} C{_n(right + 1)} {_n(top + 46)} '
            f'{_n(left - 1)} {_n(top + 46)} {_n(left)} {_n(top)}Z" fill="{SUNGLASSES_LENS}" '
            f'stroke="{GLASSES_FRAME}" stroke-width="4" stroke-linejoin="round"/>'
            f'<path d="M{_n(cx - 20)} {_n(top + 16)} L{_n(cx - 8)} {_n(top + 6)} L{_n(cx - 1)} {_n(top + 6)} '
            f'L{_n(cx - 17)} {_n(top + 22)}Z" fill="#ffffff" fill-opacity="0.55"/>'
        )
    parts.append(
        f'<path d="M{_n(EYE_XS[0] + 30)} {_n(top + 5)} L{_n(EYE_XS[1] - 30)} {_n(top + 5)}" '
        f'stroke="{GLASSES_FRAME}" stroke-width="7"/>'
        f'<path d="M{_n(EYE_XS[0] - 30)} {_n(top + 3)} L16 {_n(top - 4)}M{_n(EYE_XS[1] + 30)} {_n(top + 3)} '
        f'L240 {_n(top - 4)}" fill="none" stroke="{GLASSES_FRAME}" stroke-width="5" stroke-linecap="round"/>'
    )
    return "".join(parts)


def draw_emoticon(
    expression: Expression,
    palette: SkinPalette,
    eyewear: str = "none",
    mask: str = "none",
    size: int = VIEWBOX_SIDE,
    title: str = "emoticon",
    frame: str | None = None,
) -> str:
    """One emoticon as a complete SVG document (viewBox 0 0 256 256, displayed at ``size`` x ``size`` px).

    ``eyewear`` is one of EYEWEAR, ``mask`` one of MASKS; unknown values draw nothing (logged). ``frame`` (one of
    FRAME_SHAPES) shapes the lenses of clear glasses; None, or an unknown value (logged), draws the default lenses.
    """
    if frame is not None and frame not in FRAME_SHAPES:
        logger.warning("unknown frame label, drawing the default lenses", extra={"label": frame})
        frame = None
    if eyewear not in EYEWEAR:
        logger.warning("unknown eyewear label, drawing none", extra={"label": eyewear})
        eyewear = "none"
    if mask not in MASKS:
        logger.warning("unknown mask label, drawing none", extra={"label": mask})
        mask = "none"
    layers = [
        _face(palette),
        _blush(expression),
        _nose(palette),
        _eye(EYE_XS[0], expression, palette.feature),
        _eye(EYE_XS[1], expression, palette.feature),
        _mouth(expression, palette.feature),
        _mask(mask) if mask != "none" else "",
        _drops(expression),
        _glasses(frame) if eyewear == "glasses" else _sunglasses() if eyewear == "sunglasses" else "",
        _brows(expression, palette.feature),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {VIEWBOX_SIDE} {VIEWBOX_SIDE}" '
        f'width="{size}" height="{size}">'
        f"<title>{escape(title)}</title>"
        f"{''.join(layers)}</svg>"
    )


def frame_shape(attrs: FaceAttributes, choice: FrameChoice = "auto") -> str | None:
    """The lens shape drawn for ``attrs``: None unless the face wears clear glasses; else ``choice`` when it names
    a shape, and for "auto" the frame output's label (None, the default lenses, when there is no frame output)."""
    if attrs.eyewear.label != "glasses":
        return None
    if choice != "auto":
        return choice
    return attrs.frame.label if attrs.frame is not None else None


def describe(attrs: FaceAttributes, tone: str, unknown_tone: bool = False, frame: str | None = None) -> str:
    """A short human-readable title: the main emotions with their weights, eyewear, mask and palette.

    ``tone`` is the palette drawn; ``unknown_tone`` says the classifier could not tell the skin tone (the palette
    is then the default yellow), and the title says so: "...; skin tone unknown (yellow)". ``frame``, the lens
    shape drawn, names the glasses: "round glasses".
    """
    weights = emotion_weights(attrs.emotion.probabilities, attrs.emotion.label)
    main = sorted(weights.items(), key=lambda item: -item[1])[:3]
    emotions = ", ".join(f"{name} {w:.0%}" for name, w in main if w >= 0.05)
    eyewear = attrs.eyewear.label
    if eyewear == "glasses" and frame in FRAME_SHAPES:
        eyewear = f"{frame} glasses"
    extras = [label for label in (eyewear, attrs.mask.label) if label != "none"]
    skin = f"skin tone unknown ({tone})" if unknown_tone else f"{tone} skin"
    return "; ".join([emotions, *extras, skin])


def render_svg(attrs: FaceAttributes, options: RenderOptions) -> str:
    """A face's attributes -> its emoticon as a complete SVG document (str).

    The expression is the probability-weighted blend of the emotion points (``blend_expression``); the skin is
    ``options.tone`` or, for "auto", ``attrs.skin_tone.label`` (yellow when that is "unknown", and the title says
    the tone is unknown); eyewear and mask follow their heads' top labels; clear glasses get the lens shape of
    ``frame_shape(attrs, options.frame)`` (round or rectangular; the default lenses without a frame output).
    The document's viewBox is 0 0 256 256 and its width/height are ``options.size`` px. Pure: same input, same text.
    """
    tone = resolve_tone(attrs, options.tone)
    frame = frame_shape(attrs, options.frame)
    expression = blend_expression(attrs.emotion.probabilities, attrs.emotion.label)
    return draw_emoticon(
        expression,
        skin_palette(tone),
        eyewear=attrs.eyewear.label,
        mask=attrs.mask.label,
        size=options.size,
        title=describe(attrs, tone, unknown_tone=tone_unknown(attrs, options.tone), frame=frame),
        frame=frame,
    )
