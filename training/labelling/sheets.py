"""Numbered contact sheets: ``cols x rows`` tiles, each face enlarged to ``tile`` px with its number above it.

A sheet never shows a dataset label (race, gender, class): the labeller sees only the faces and numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from training.data import load_image

CAPTION_PX = 20


def fit_tile(image_bgr: np.ndarray, tile: int) -> np.ndarray:
    """Letterbox one image into a ``tile x tile`` grey square, keeping its aspect ratio (``tile x tile x 3``)."""
    h, w = image_bgr.shape[:2]
    scale = tile / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image_bgr, (nw, nh), interpolation=interp)
    out = np.full((tile, tile, 3), 128, np.uint8)
    y0, x0 = (tile - nh) // 2, (tile - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


def render_sheet(
    images: Sequence[np.ndarray], numbers: Sequence[int], title: str, cols: int = 6, tile: int = 168
) -> np.ndarray:
    """One sheet (``H x W x 3`` uint8 BGR) of up to ``cols * rows`` faces with their numbers."""
    rows = -(-len(images) // cols)
    cell_h = tile + CAPTION_PX
    sheet = np.full((CAPTION_PX + rows * cell_h, cols * (tile + 4), 3), 255, np.uint8)
    cv2.putText(sheet, title, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (img, num) in enumerate(zip(images, numbers)):
        r, c = divmod(i, cols)
        x, y = c * (tile + 4), CAPTION_PX + r * cell_h
        cv2.putText(sheet, str(num), (x + 2, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 200), 2, cv2.LINE_AA)
        sheet[y + CAPTION_PX : y + CAPTION_PX + tile, x : x + tile] = fit_tile(img, tile)
    return sheet


def render_plan_sheets(plan: Sequence[dict[str, str]], out_dir: Path, tile: int = 168) -> list[Path]:
    """Render every sheet of a plan (rows with ``sheet, n, dataset, path``) to ``out_dir/<sheet>.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_sheet: dict[str, list[dict[str, str]]] = {}
    for row in plan:
        by_sheet.setdefault(row["sheet"], []).append(row)
    written = []
    for sheet, rows in sorted(by_sheet.items()):
        rows.sort(key=lambda r: int(r["n"]))
        images = [load_image(r["dataset"], r["path"]) for r in rows]
        png = render_sheet(images, [int(r["n"]) for r in rows], f"sheet {sheet}", tile=tile)
        path = out_dir / f"{sheet}.png"
        cv2.imwrite(str(path), png)
        written.append(path)
    return written
