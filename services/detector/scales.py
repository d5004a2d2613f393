"""Which input sizes res10 sees an image at, and which of its boxes each size may contribute.

res10 (an SSD trained at 300x300) finds a face reliably once the face is about 26 px wide in the network's
input, a little under its smallest prior box (30 px). Its big-face outputs are the weak part at larger inputs:
the prior boxes of its last two layers are laid out with fixed steps of 100 and 300 px, so in an input much larger
than 300 they sit in the wrong places and give confident "ghost" boxes shifted off a large face, or miss it.

So an image gets at most two passes, both over the whole image with its aspect ratio kept:

- the **fine** pass, scaled so that a face ``smallest_face_px`` wide reaches the network at ``NET_FACE_PX``
  (capped at ``max_input_pixels``, and never at fewer pixels than the old ``input_side``² square). It keeps
  only boxes narrower than ``LARGE_FACE_NET_PX`` in its input, where the layers' priors line up with the image;
- the **coarse** pass, only when the fine pass gave a confident box too wide for its band (a large face, or a
  ghost of one): the short side at ``COARSE_SHORT_SIDE`` px,
  where any face that fits the image is a mid-sized face for res10; it keeps boxes from ``OVERLAP`` x the fine
  pass's limit up, so the two bands overlap and NMS merges what both found.

A photo small enough to be seen at the ``input_side``² floor (a face crop, up to about 433x325) is at res10's
own training size: there the fine pass keeps every box and no coarse pass runs, as the old detector did.

No tiles: res10's cost in ``cv2.dnn`` is a fixed ~8 ms per forward plus a part linear in the input's pixels, so
tiles covering the image at the fine scale cost what one forward over it costs, plus the overlap and 8 ms per
tile; they would not find anything the fine pass misses. Measured figures: ``docs/detector.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Width in the network's input at which res10 finds faces reliably (measured: bench/detector_small_faces.py).
NET_FACE_PX = 25.6
# Boxes wider than this in the fine pass's input come from res10's misaligned big-face layers: not trusted there.
LARGE_FACE_NET_PX = 120.0
# The coarse pass's short side: a face as tall as the whole image is then at most this many network pixels,
# and a face at the fine band's limit (150 px in a 640x480 photo) still 30.
COARSE_SHORT_SIDE = 96
# The coarse band starts at this fraction of the fine band's upper limit, so that the two overlap.
OVERLAP = 0.8
# No input side below this: res10 downsamples 32x before its mid-sized layers.
MIN_INPUT_SIDE = 32
# res10's face boxes are taller than wide once the aspect ratio is kept (height / width at least 0.86, median
# 1.28, over the 659 faces it found in bench/detector_small_faces.py); a box much flatter is texture.
MIN_FACE_ASPECT = 0.7


@dataclass(frozen=True)
class InputPass:
    """One network run over the whole image, resized to ``width x height`` (the aspect ratio kept, to the
    pixel), contributing boxes whose unclipped width in image pixels is in ``[min_face_px, max_face_px)``."""

    width: int
    height: int
    scale: float
    min_face_px: float
    max_face_px: float

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class ScalePlan:
    """The passes for one image size. ``coarse`` runs only when the fine pass gives a confident box at least
    ``coarse_trigger_px`` wide (unclipped); ``smallest_face_px`` is the face width the fine pass is scaled for."""

    fine: InputPass
    coarse: InputPass | None
    coarse_trigger_px: float
    smallest_face_px: float


def input_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """``(w, h)`` of the image resized by ``scale``, each side at least ``MIN_INPUT_SIDE``."""
    return max(MIN_INPUT_SIDE, round(width * scale)), max(MIN_INPUT_SIDE, round(height * scale))


def plan_scales(
    width: int,
    height: int,
    *,
    smallest_face_px: float,
    max_input_pixels: int,
    input_side: int,
) -> ScalePlan:
    """The passes for a ``width x height`` image.

    The fine scale is ``NET_FACE_PX / smallest_face_px``, lowered to fit ``max_input_pixels``, and raised to
    at least the scale at which the image has ``input_side``² pixels (small images are enlarged, as before).
    """
    if width < 1 or height < 1:
        raise ValueError(f"empty image {width}x{height}")
    area = float(width * height)
    wanted = NET_FACE_PX / smallest_face_px
    affordable = math.sqrt(max_input_pixels / area)
    floor = math.sqrt(input_side * input_side / area)
    scale = max(floor, min(wanted, affordable))
    fine_w, fine_h = input_size(width, height, scale)
    limit = LARGE_FACE_NET_PX / scale  # image px

    coarse_scale = COARSE_SHORT_SIDE / min(width, height)
    if scale <= floor or coarse_scale >= OVERLAP * scale:
        # Seen at the old input_side² pixel count (a small photo, a face crop): that is res10's own training
        # size, where its big-face layers line up, and a frame-filling face is found best (a coarse pass would
        # see it without context). Or the fine input is short already. Either way its boxes all stand.
        fine = InputPass(fine_w, fine_h, scale, 0.0, math.inf)
        return ScalePlan(fine, None, math.inf, NET_FACE_PX / scale)
    coarse_w, coarse_h = input_size(width, height, coarse_scale)
    fine = InputPass(fine_w, fine_h, scale, 0.0, limit)
    coarse = InputPass(coarse_w, coarse_h, coarse_scale, OVERLAP * limit, math.inf)
    return ScalePlan(fine, coarse, limit, NET_FACE_PX / scale)


def unclipped_widths(rows: np.ndarray, image_width: int) -> np.ndarray:
    """Widths in image pixels of SSD rows ``[confidence, x0, y0, x1, y1]`` (fractions of the image), before
    any clipping: a box cut by the border still counts at the size res10 gave it."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    return (rows[:, 3] - rows[:, 1]) * image_width


def rows_in_band(rows: np.ndarray, image_width: int, band: InputPass) -> np.ndarray:
    """The rows a pass may contribute: unclipped width in ``[band.min_face_px, band.max_face_px)``."""
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 5)
    widths = unclipped_widths(rows, image_width)
    return rows[(widths >= band.min_face_px) & (widths < band.max_face_px)]


def needs_coarse_pass(rows: np.ndarray, image_width: int, plan: ScalePlan, min_confidence: float) -> bool:
    """Whether the fine pass's rows hold a confident box too wide for its band (a large face, or a ghost of
    one), so that the coarse pass has to look."""
    if plan.coarse is None:
        return False
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    confident = rows[:, 0] >= min_confidence
    return bool((confident & (unclipped_widths(rows, image_width) >= plan.coarse_trigger_px)).any())


def face_shaped_rows(rows: np.ndarray, image_width: int, image_height: int) -> np.ndarray:
    """The rows whose unclipped box is at least ``MIN_FACE_ASPECT`` times as tall as it is wide, in image
    pixels (a box cut by the border is judged by the shape res10 gave it)."""
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 5)
    widths = unclipped_widths(rows, image_width)
    heights = (rows[:, 4].astype(np.float64) - rows[:, 2]) * image_height
    return rows[heights >= MIN_FACE_ASPECT * widths]
