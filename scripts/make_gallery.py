"""Draw docs/gallery.png: every emotion x eyewear x mask for yellow and the five skin tones, plus blends and the
frame shapes of clear glasses.

One panel per palette; rows = the seven emotions, a row of blends and a row of frames; columns = eyewear (none,
glasses, sunglasses) x mask (none, mask, under the nose). The frames row shows glasses without a frame output
(the default lenses), round and rectangular, each x mask. The gallery is itself one SVG: each cell nests the exact
``render_svg`` document, labels are SVG text (DejaVu Sans), and resvg rasterises it once.

    python3 scripts/make_gallery.py [--out docs/gallery.png] [--cell 64]
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path
from xml.sax.saxutils import escape

import resvg_py

from services.composer import render_svg
from services.contracts import (
    EMOTIONS,
    EYEWEAR,
    FRAME_SHAPES,
    MASKS,
    SKIN_TONES,
    FaceAttributes,
    HeadOutput,
    RenderOptions,
)

logger = logging.getLogger("make_gallery")

REPO_ROOT = Path(__file__).resolve().parent.parent
PALETTES: tuple[str, ...] = ("yellow", *SKIN_TONES)
MASK_NAMES = {"none": "no mask", "mask": "mask", "mask_incorrect": "under nose"}
EYEWEAR_NAMES = {"none": "no eyewear", "glasses": "glasses", "sunglasses": "sunglasses"}
# The blends row: emotion probabilities (no eyewear, no mask).
BLENDS: tuple[dict[str, float], ...] = (
    {"happy": 0.6, "surprise": 0.4},
    {"happy": 0.5, "neutral": 0.5},
    {"happy": 0.3, "sad": 0.7},
    {"sad": 0.5, "fear": 0.5},
    {"fear": 0.5, "surprise": 0.5},
    {"angry": 0.5, "disgust": 0.5},
    {"angry": 0.5, "sad": 0.5},
    {"disgust": 0.5, "neutral": 0.5},
    {"surprise": 0.6, "angry": 0.4},
)
# The frames row: glasses without a frame output (None: the default lenses), then each frame shape.
FRAMES: tuple[str | None, ...] = (None, *FRAME_SHAPES)
FRAME_NAMES = {None: "no frame output", "round": "round frame", "rectangular": "rectangular frame"}
ROWS = len(EMOTIONS) + 2  # the emotions, the blends, the frames
FONT = "DejaVu Sans"
# Loading only these fonts (not every system font, once per embedded image) keeps the render to seconds.
FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
]


def head(labels: tuple[str, ...], probabilities: dict[str, float]) -> HeadOutput:
    full = {name: probabilities.get(name, 0.0) for name in labels}
    return HeadOutput(label=max(full, key=full.__getitem__), probabilities=full)


def face(
    emotions: dict[str, float], eyewear: str = "none", mask: str = "none", frame: str | None = None
) -> FaceAttributes:
    return FaceAttributes(
        emotion=head(EMOTIONS, emotions),
        eyewear=head(EYEWEAR, {eyewear: 1.0}),
        mask=head(MASKS, {mask: 1.0}),
        skin_tone=head(SKIN_TONES, {"medium": 1.0}),
        frame=head(FRAME_SHAPES, {frame: 1.0}) if frame is not None else None,
    )


def embedded(svg: str, x: float, y: float, side: int) -> str:
    """An emoticon document placed as a nested <svg> at (x, y), ``side`` px square (emoticons have no ids to clash)."""
    opening_end = svg.index(">")
    opening = svg[:opening_end]
    placed = re.sub(r' width="\d+" height="\d+"', f' x="{x}" y="{y}" width="{side}" height="{side}"', opening)
    return placed + svg[opening_end:]


def text(x: float, y: float, content: str, size: int, anchor: str = "start", weight: str = "normal") -> str:
    return (
        f'<text x="{x}" y="{y}" font-family="{FONT}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="{anchor}" fill="#333">{escape(content)}</text>'
    )


def blend_label(blend: dict[str, float]) -> str:
    return "/".join(f"{name[:3]} {round(p * 100)}" for name, p in blend.items())


def panel(palette: str, x0: float, y0: float, cell: int, label_width: int, header: int) -> list[str]:
    """The SVG elements of one palette's panel, top-left at (x0, y0)."""
    columns = [(eyewear, mask) for eyewear in EYEWEAR for mask in MASKS]
    options = RenderOptions(size=cell, tone=palette)  # type: ignore[arg-type]
    parts = [
        text(
            x0,
            y0 + 18,
            palette.replace("_", "-") + (" (default)" if palette == "yellow" else ""),
            17,
            weight="bold",
        )
    ]
    grid_x, grid_y = x0 + label_width, y0 + header
    for group, eyewear in enumerate(EYEWEAR):
        centre = grid_x + (group * 3 + 1.5) * cell
        parts.append(text(centre, grid_y - 22, EYEWEAR_NAMES[eyewear], 12, anchor="middle", weight="bold"))
        if group:
            sep_x, bottom = grid_x + group * 3 * cell, grid_y + ROWS * cell + 16
            parts.append(f'<line x1="{sep_x}" y1="{grid_y - 34}" x2="{sep_x}" y2="{bottom}" stroke="#ccc"/>')
    for index, (_, mask) in enumerate(columns):
        parts.append(text(grid_x + (index + 0.5) * cell, grid_y - 6, MASK_NAMES[mask], 10, anchor="middle"))
    for row, emotion in enumerate(EMOTIONS):
        y = grid_y + row * cell
        parts.append(text(grid_x - 6, y + cell / 2 + 4, emotion, 12, anchor="end"))
        for column, (eyewear, mask) in enumerate(columns):
            svg = render_svg(face({emotion: 1.0}, eyewear, mask), options)
            parts.append(embedded(svg, grid_x + column * cell, y, cell))
    y = grid_y + len(EMOTIONS) * cell
    parts.append(text(grid_x - 6, y + cell / 2 + 4, "blends", 12, anchor="end", weight="bold"))
    for column, blend in enumerate(BLENDS):
        svg = render_svg(face(blend), options)
        parts.append(embedded(svg, grid_x + column * cell, y, cell))
        parts.append(
            text(grid_x + (column + 0.5) * cell, y + cell + 11, blend_label(blend), 8, anchor="middle")
        )
    y += cell + 16  # below the blends' labels
    parts.append(text(grid_x - 6, y + cell / 2 + 4, "frames", 12, anchor="end", weight="bold"))
    for group, frame in enumerate(FRAMES):
        for index, mask in enumerate(MASKS):
            svg = render_svg(face({"happy": 1.0}, "glasses", mask, frame), options)
            parts.append(embedded(svg, grid_x + (group * 3 + index) * cell, y, cell))
        label_x = grid_x + (group * 3 + 1.5) * cell
        parts.append(text(label_x, y + cell + 11, FRAME_NAMES[frame], 9, anchor="middle"))
    return parts


def gallery_svg(cell: int, panels_per_row: int = 3) -> str:
    label_width, header, footer, margin = 70, 64, 18, 24
    panel_width = label_width + 9 * cell
    panel_height = header + ROWS * cell + 16 + footer
    rows = -(-len(PALETTES) // panels_per_row)
    width = margin + panels_per_row * (panel_width + margin)
    height = margin + rows * (panel_height + margin)
    parts = [f'<rect width="{width}" height="{height}" fill="#ffffff"/>']
    for index, palette in enumerate(PALETTES):
        row, column = divmod(index, panels_per_row)
        x0 = margin + column * (panel_width + margin)
        y0 = margin + row * (panel_height + margin)
        parts.extend(panel(palette, x0, y0, cell, label_width, header))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}">{"".join(parts)}</svg>'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "gallery.png")
    parser.add_argument("--cell", type=int, default=64, help="side of one emoticon in px")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    svg = gallery_svg(args.cell)
    png = bytes(
        resvg_py.svg_to_bytes(svg_string=svg, font_family=FONT, skip_system_fonts=True, font_files=FONT_FILES)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(png)
    logger.info("wrote %s (%d bytes)", args.out, len(png))


if __name__ == "__main__":
    main()
