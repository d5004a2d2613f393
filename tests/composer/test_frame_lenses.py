"""The frame shape of clear glasses: round and rectangular lenses, the default lenses without a frame output,
and the render option that overrides it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from services.composer import emoji_for, render_png, render_svg
from services.composer.drawing import EYE_XS, EYE_Y, frame_shape
from services.composer.palette import GLASSES_LENS
from services.contracts import FRAME_SHAPES, HeadOutput, RenderOptions

SVG_NS = "{http://www.w3.org/2000/svg}"


def lenses(svg: str) -> list[ET.Element]:
    """The clear lenses of a drawing: the elements filled with the lens colour."""
    return [e for e in ET.fromstring(svg).iter() if e.attrib.get("fill", "").lower() == GLASSES_LENS]


def title(svg: str) -> str:
    element = ET.fromstring(svg).find(f"{SVG_NS}title")
    assert element is not None and element.text
    return element.text


def test_round_frames_draw_circles_centred_on_the_eyes(make_face) -> None:
    drawn = lenses(render_svg(make_face("happy", "glasses", frame="round"), RenderOptions()))
    assert [e.tag for e in drawn] == [f"{SVG_NS}circle"] * 2
    assert [float(e.attrib["cx"]) for e in drawn] == list(EYE_XS)
    assert all(float(e.attrib["cy"]) == EYE_Y for e in drawn)


def test_rectangular_frames_draw_wide_rectangles_with_tight_corners(make_face) -> None:
    drawn = lenses(render_svg(make_face("happy", "glasses", frame="rectangular"), RenderOptions()))
    assert [e.tag for e in drawn] == [f"{SVG_NS}rect"] * 2
    for lens, cx in zip(drawn, EYE_XS):
        width, height, corner = (float(lens.attrib[k]) for k in ("width", "height", "rx"))
        assert width > height and corner <= 0.15 * height
        assert float(lens.attrib["x"]) + width / 2 == cx  # centred on its eye


def test_without_a_frame_output_the_default_lenses_are_drawn(make_face) -> None:
    """No frame output (the classifier's default): the soft-cornered lenses drawn before frame shapes existed."""
    svg = render_svg(make_face("happy", "glasses"), RenderOptions())
    drawn = lenses(svg)
    assert [e.tag for e in drawn] == [f"{SVG_NS}rect"] * 2
    assert [(e.attrib["width"], e.attrib["height"], e.attrib["rx"]) for e in drawn] == [("54", "50", "17")] * 2
    shaped = {render_svg(make_face("happy", "glasses", frame=f), RenderOptions()) for f in FRAME_SHAPES}
    assert svg not in shaped and len(shaped) == 2
    assert "round" not in title(svg) and "rectangular" not in title(svg)


def test_the_title_names_the_frame_shape(make_face) -> None:
    for frame in FRAME_SHAPES:
        assert f"{frame} glasses" in title(render_svg(make_face("happy", "glasses", frame=frame), RenderOptions()))


@pytest.mark.parametrize("eyewear", ["none", "sunglasses"])
def test_a_frame_output_changes_nothing_without_clear_glasses(make_face, eyewear: str) -> None:
    plain = render_svg(make_face("sad", eyewear), RenderOptions())
    for frame in FRAME_SHAPES:
        assert render_svg(make_face("sad", eyewear, frame=frame), RenderOptions()) == plain
        assert render_svg(make_face("sad", eyewear), RenderOptions(frame=frame)) == plain  # the option neither
    assert lenses(plain) == []


def test_the_frame_option_overrides_the_frame_output(make_face) -> None:
    round_face = make_face("neutral", "glasses", frame="round")
    no_output = make_face("neutral", "glasses")
    rectangular = render_svg(make_face("neutral", "glasses", frame="rectangular"), RenderOptions())
    assert render_svg(round_face, RenderOptions(frame="rectangular")) == rectangular
    assert render_svg(no_output, RenderOptions(frame="rectangular")) == rectangular
    assert render_svg(round_face, RenderOptions(frame="auto")) == render_svg(round_face, RenderOptions())
    assert frame_shape(round_face, "auto") == "round"
    assert frame_shape(no_output, "auto") is None
    assert frame_shape(make_face("neutral", "sunglasses", frame="round"), "rectangular") is None


def test_an_unknown_frame_label_draws_the_default_lenses(make_face) -> None:
    face = make_face("happy", "glasses")
    odd = face.model_copy(update={"frame": HeadOutput(label="oval", probabilities={"oval": 1.0})})
    assert render_svg(odd, RenderOptions()) == render_svg(face, RenderOptions())


def test_round_and_rectangular_pngs_differ_at_the_lens_corners(make_face, png_pixels) -> None:
    """Rasterised, a rectangular lens's frame covers its corner, where a round lens leaves the skin."""
    size = 256
    images = {
        f: png_pixels(render_png(make_face("neutral", "glasses", frame=f), RenderOptions(size=size, tone="yellow")))
        for f in FRAME_SHAPES
    }
    # Just inside the rectangular lens's top-left corner (x 61, y 84 in the 256 viewBox), on its stroke.
    corner = images["rectangular"][85:88, 62:65, :3].astype(int)
    skin = images["round"][85:88, 62:65, :3].astype(int)
    assert np.abs(corner - skin).mean() > 60


def test_the_emoji_does_not_depend_on_the_frame(make_face) -> None:
    plain = emoji_for(make_face("happy", "glasses"))
    assert plain == "🤓🧑🏽"
    for frame in FRAME_SHAPES:
        assert emoji_for(make_face("happy", "glasses", frame=frame)) == plain
