"""Composer: a face's attributes -> an emoticon drawn as vector graphics (SVG), its PNG, an emoji string, the
privacy overlay on the photo and a sticker sheet. Pure functions; Skia rasterises the one SVG drawing."""

from .collage import SheetLayout, render_overlay, render_sheet, sheet_layout
from .drawing import draw_emoticon, render_svg
from .emoji import emoji_for
from .expression import EMOTION_POINTS, Expression, blend_expression
from .palette import SKIN_FILLS, skin_palette
from .raster import render_png

__all__ = [
    "EMOTION_POINTS",
    "SKIN_FILLS",
    "Expression",
    "SheetLayout",
    "blend_expression",
    "draw_emoticon",
    "emoji_for",
    "render_overlay",
    "render_png",
    "render_sheet",
    "render_svg",
    "sheet_layout",
    "skin_palette",
]
