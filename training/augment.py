"""Batch augmentation in torch (cheap next to the convolutions): geometry, photometry, blur and colour cast.

Input and output are ``N x C x S x S`` float32 in [0, 1] (before normalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    max_rotate_deg: float = 10.0
    scale_range: tuple[float, float] = (0.88, 1.12)  # framing jitter: detector boxes vary in size
    max_shift: float = 0.08  # fraction of the side
    flip: bool = True
    brightness: float = 0.25
    contrast: float = 0.25
    colour_cast: float = 0.0  # per-channel gain (white balance), RGB heads only
    blur_prob: float = 0.0  # down-then-up sampling, so blockiness/blur is no class cue
    grey_prob: float = 0.0  # colour heads sometimes see grey images (CMU faces are grey)


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    n, c, s, _ = x.shape
    g = generator
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(cfg.max_rotate_deg)
    lo, hi = cfg.scale_range
    scale = lo + torch.rand(n, generator=g) * (hi - lo)
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * cfg.max_shift * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    if cfg.flip:
        flip = (torch.rand(n, generator=g) < 0.5).float() * 2 - 1
        theta[:, 0, 0] *= flip
        theta[:, 1, 0] *= flip
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    if cfg.blur_prob > 0:
        pick = torch.rand(n, generator=g) < cfg.blur_prob
        if pick.any():
            factor = float(0.3 + 0.5 * torch.rand(1, generator=g))
            small = F.interpolate(x[pick], scale_factor=factor, mode="area")
            mode = "nearest" if torch.rand(1, generator=g) < 0.5 else "bilinear"
            x[pick] = F.interpolate(small, size=(s, s), mode=mode)

    if c == 3 and cfg.colour_cast > 0:
        gains = 1 + (torch.rand(n, 3, 1, 1, generator=g) * 2 - 1) * cfg.colour_cast
        x = x * gains
    if c == 3 and cfg.grey_prob > 0:
        pick = (torch.rand(n, 1, 1, 1, generator=g) < cfg.grey_prob).float()
        grey = x.mean(dim=1, keepdim=True).expand_as(x)
        x = pick * grey + (1 - pick) * x

    b = 1 + (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * cfg.brightness
    k = 1 + (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * cfg.contrast
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * k + mean * b
    return x.clamp_(0, 1)


def random_erase(x: torch.Tensor, prob: float, generator: torch.Generator) -> torch.Tensor:
    """Cover one rectangle (2-20 % of the area, aspect 0.3-3.3) of each picked image with mid grey, in place."""
    n, _, s, _ = x.shape
    g = generator
    pick = torch.rand(n, generator=g) < prob
    area = (0.02 + 0.18 * torch.rand(n, generator=g)) * s * s
    aspect = torch.exp((torch.rand(n, generator=g) * 2 - 1) * math.log(3.3))
    h = (area * aspect).sqrt().clamp(1, s).long()
    w = (area / aspect).sqrt().clamp(1, s).long()
    top = (torch.rand(n, generator=g) * (s - h + 1).float()).long()
    left = (torch.rand(n, generator=g) * (s - w + 1).float()).long()
    for i in torch.nonzero(pick).flatten().tolist():
        x[i, :, top[i] : top[i] + h[i], left[i] : left[i] + w[i]] = 0.5
    return x


def jpeg_batch(x: np.ndarray, prob: float, rng: np.random.Generator, quality: tuple[int, int] = (15, 60)) -> np.ndarray:
    """Re-encode a share of ``N x C x S x S`` uint8 crops as JPEG at a random low quality (web and crowd
    photos are blocky); returns a new array."""
    out = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < prob):
        img = np.ascontiguousarray(out[i].transpose(1, 2, 0))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(*quality))])
        if ok:
            dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
            out[i] = (dec[..., None] if dec.ndim == 2 else dec).transpose(2, 0, 1)
    return out
