"""Time the composer: render_svg and render_png at 256 px (median and p95 over N renders), and emoji_for.

    python3 bench/bench_composer.py [--renders 200] [--size 256]

Faces cycle through every emotion x eyewear x mask x tone with a blended probability vector, so the timing
covers all drawing paths. Measured in the same run to put the figures in context on a busy machine: two floors
of our rasteriser (a blank SVG and a face-sized circle to a PNG of the same size: pixel buffer + PNG encoding)
and resvg_py, the rasteriser used before Skia, on the very same SVGs. Prints wall and CPU medians; the target
is a 256 px PNG in <= 5 ms (median wall).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable

import resvg_py
import skia

from services.composer import emoji_for, render_png, render_svg
from services.composer.raster import rasterise_svg, svg_to_bgra
from services.contracts import EMOTIONS, EYEWEAR, MASKS, SKIN_TONES, FaceAttributes, HeadOutput, RenderOptions

TARGET_PNG_MS = 5.0


def one_hot(labels: tuple[str, ...], label: str) -> HeadOutput:
    return HeadOutput(label=label, probabilities={name: float(name == label) for name in labels})


def sample_faces() -> list[FaceAttributes]:
    """Every emotion x eyewear x mask x tone, the emotion blended 70/30 with the next one."""
    faces = []
    combos = itertools.product(range(len(EMOTIONS)), EYEWEAR, MASKS, SKIN_TONES)
    for index, eyewear, mask, tone in combos:
        main, other = EMOTIONS[index], EMOTIONS[(index + 1) % len(EMOTIONS)]
        probabilities = {name: 0.0 for name in EMOTIONS} | {main: 0.7, other: 0.3}
        faces.append(
            FaceAttributes(
                emotion=HeadOutput(label=main, probabilities=probabilities),
                eyewear=one_hot(EYEWEAR, eyewear),
                mask=one_hot(MASKS, mask),
                skin_tone=one_hot(SKIN_TONES, tone),
            )
        )
    return faces


def time_ms(
    work: Callable[[FaceAttributes], object], faces: list[FaceAttributes], renders: int
) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms) per call."""
    wall, cpu = [], []
    for attrs in itertools.islice(itertools.cycle(faces), renders):
        start, start_cpu = time.perf_counter(), time.process_time()
        work(attrs)
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return wall, cpu


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description="composer render timings")
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    options = RenderOptions(size=args.size)
    faces = sample_faces()
    for attrs in faces[:10]:  # warm-up: imports, first allocations
        render_png(attrs, options)
    side = args.size
    blank = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{side}" height="{side}"/>'
    circle = blank.replace(
        "/>", f'><circle cx="{side / 2}" cy="{side / 2}" r="{side * 0.45}" fill="#fc0"/></svg>'
    )
    rows = {
        "render_svg": time_ms(lambda a: render_svg(a, options), faces, args.renders),
        f"render_png {side}px": time_ms(lambda a: render_png(a, options), faces, args.renders),
        f"  of it: pixels {side}px": time_ms(lambda a: svg_to_bgra(render_svg(a, options), side), faces, args.renders),
        f"resvg_py PNG {side}px": time_ms(
            lambda a: resvg_py.svg_to_bytes(svg_string=render_svg(a, options), width=side, skip_system_fonts=True),
            faces,
            args.renders,
        ),
        "emoji_for": time_ms(lambda a: emoji_for(a), faces, args.renders),
        f"floor: blank {side}px": time_ms(lambda a: rasterise_svg(blank, side), faces, args.renders),
        f"floor: circle {side}px": time_ms(lambda a: rasterise_svg(circle, side), faces, args.renders),
    }
    print(
        f"skia-python {skia.__version__}; resvg_py {resvg_py.__version__} (resvg {resvg_py.__resvg_version__}) "
        f"for comparison; {args.renders} calls each"
    )
    print(f"{'function':<26}{'median ms':>11}{'p95 ms':>9}{'median CPU ms':>15}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:<26}{statistics.median(wall):>11.3f}{p95(wall):>9.3f}{statistics.median(cpu):>15.3f}")
    png = statistics.median(rows[f"render_png {side}px"][0])
    floor = statistics.median(rows[f"floor: blank {side}px"][0])
    svg = statistics.median(rows["render_svg"][0])
    verdict = "met" if png <= TARGET_PNG_MS else "NOT met"
    resvg = statistics.median(rows[f"resvg_py PNG {side}px"][0])
    print(
        f"render_png = {png / floor:.1f}x the blank-canvas floor; SVG build = {svg / png:.1%} of render_png; "
        f"resvg_py on the same SVGs = {resvg / png:.1f}x render_png"
    )
    print(f"target {TARGET_PNG_MS} ms median for a {side} px PNG: {verdict}")


if __name__ == "__main__":
    main()
