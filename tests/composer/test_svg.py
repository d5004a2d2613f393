"""render_svg / draw_emoticon: complete, well-formed SVG documents for every attribute combination."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from services.composer import render_svg
from services.composer.palette import SKIN_FILLS
from services.contracts import EMOTIONS, EYEWEAR, MASKS, RenderOptions

SVG_NS = "{http://www.w3.org/2000/svg}"
TONES = ("yellow", "light", "medium_light", "medium", "medium_dark", "dark")


def test_every_combination_is_a_valid_svg_document(make_face) -> None:
    for emotion, eyewear, mask, tone in itertools.product(EMOTIONS, EYEWEAR, MASKS, TONES):
        svg = render_svg(make_face(emotion, eyewear, mask), RenderOptions(size=128, tone=tone))
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG_NS}svg"
        assert root.attrib["viewBox"] == "0 0 256 256"
        assert root.attrib["width"] == root.attrib["height"] == "128"
        fills = {element.attrib.get("fill") for element in root.iter()}
        assert SKIN_FILLS[tone] in fills, (emotion, eyewear, mask, tone)


def test_render_svg_is_pure_and_depends_on_every_attribute(make_face) -> None:
    options = RenderOptions()
    base = render_svg(make_face("happy"), options)
    assert render_svg(make_face("happy"), options) == base
    variants = [
        render_svg(make_face("sad"), options),
        render_svg(make_face("happy", eyewear="glasses"), options),
        render_svg(make_face("happy", mask="mask"), options),
        render_svg(make_face("happy", skin_tone="dark"), options),
        render_svg(make_face("happy"), RenderOptions(tone="yellow")),
        render_svg(make_face({"happy": 0.9, "surprise": 0.1}), options),
    ]
    assert all(variant != base for variant in variants)
    assert len(set(variants)) == len(variants)


def test_svg_has_no_ids_so_several_can_be_inlined_in_one_page(make_face) -> None:
    svg = render_svg(make_face("surprise", "sunglasses", "mask_incorrect"), RenderOptions())
    assert all("id" not in element.attrib for element in ET.fromstring(svg).iter())


@pytest.mark.parametrize("tone", ["auto", "yellow", "dark"])
def test_title_names_the_main_emotions(make_face, tone: str) -> None:
    svg = render_svg(make_face({"happy": 0.6, "surprise": 0.4}), RenderOptions(tone=tone))
    title = ET.fromstring(svg).find(f"{SVG_NS}title")
    assert title is not None and "happy 60%" in title.text and "surprise 40%" in title.text
