"""Skin-tone training labels from the Individual Typology Angle (ITA°) of skin pixels.

No human skin-tone labels exist for our data, so labels are derived:

1. Region: the lower-middle of the face crop (x 25–75 %, y 45–80 % of the square crop: cheeks, nose, upper
   lip), which avoids hair, eyes, brows and most background.
2. Skin pixels: the YCrCb box of Chai & Ngan (1999), Cr 133–173 and Cb 77–127, widened slightly (Cr 128–180,
   Cb 70–135) because dark and very light skin fall near its edges; then the darkest and brightest 15 % of
   those pixels by L* are dropped (shadows, specular highlights). Crops with fewer than 40 skin pixels stay
   unlabelled (-1) and are not trained on.
3. ITA° = atan2(L* − 50, b*) · 180/π on the median L* and b* (CIE L*a*b*, D65).
4. Classes, following the dermatological ITA categories (Chardon et al. 1991; Del Bino & Bernerd 2013: very light
   > 55°, light 41–55°, intermediate 28–41°, tan 10–28°, brown −30–10°, dark < −30°), shifted down by
   ``PHOTO_OFFSET`` degrees because ordinary photos read darker than colorimeter measurements (shading,
   exposure); the five Unicode modifiers map to very light / light / intermediate / tan / brown+dark.
   The offset is the one value tuned here: 45° = the colorimetric ITA typical of light European skin (≈ 44°,
   the middle of the 'intermediate/light' range where Del Bino & Bernerd place most European volunteers) minus
   the median photo ITA we measure on FairFace 'White' faces (−1°). Measured photo ITA medians per FairFace
   group (every 7th image): Black −52°, Indian −28°, Middle Eastern −22°, Latino −17°, Southeast Asian −13°,
   East Asian −2.5°, White −1°: the order is right, the spread within a group (IQR ≈ 60–80°) is mostly light.
"""

from __future__ import annotations

import cv2
import numpy as np

# Upper ITA° bounds of the classes, before the photo offset: dark < 10 <= medium_dark < 28 <= medium < 41 ...
ITA_BOUNDS = (10.0, 28.0, 41.0, 55.0)
PHOTO_OFFSET = 45.0
# Index order = services.contracts.SKIN_TONES: light, medium_light, medium, medium_dark, dark.


def skin_pixels_lab(crop_rgb: np.ndarray) -> np.ndarray:
    """``M x 3`` float32 L*a*b* of the skin pixels in a square ``S x S x 3`` uint8 RGB face crop."""
    s = crop_rgb.shape[0]
    region = crop_rgb[int(0.45 * s) : int(0.80 * s), int(0.25 * s) : int(0.75 * s)]
    ycrcb = cv2.cvtColor(region, cv2.COLOR_RGB2YCrCb).reshape(-1, 3)
    mask = (ycrcb[:, 1] >= 128) & (ycrcb[:, 1] <= 180) & (ycrcb[:, 2] >= 70) & (ycrcb[:, 2] <= 135)
    lab = cv2.cvtColor(region.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)[mask]
    if len(lab) == 0:
        return lab
    lo, hi = np.percentile(lab[:, 0], [15, 85])
    return lab[(lab[:, 0] >= lo) & (lab[:, 0] <= hi)]


def ita_degrees(crop_rgb: np.ndarray, min_pixels: int = 40) -> float | None:
    """ITA° of a face crop, or None when too few skin pixels are found."""
    lab = skin_pixels_lab(crop_rgb)
    if len(lab) < min_pixels:
        return None
    lightness, b = float(np.median(lab[:, 0])), float(np.median(lab[:, 2]))
    return float(np.degrees(np.arctan2(lightness - 50.0, b)))


def tone_from_ita(ita: float, offset: float = PHOTO_OFFSET) -> int:
    """Class index (0 = light ... 4 = dark) of an ITA° value."""
    bounds = [b - offset for b in ITA_BOUNDS]
    above = sum(ita >= b for b in bounds)  # 0 (dark) .. 4 (light)
    return 4 - above


def tone_labels(x: np.ndarray, offset: float = PHOTO_OFFSET) -> np.ndarray:
    """Labels for framed crops ``N x 3 x S x S`` uint8 RGB; -1 where no skin was found."""
    out = np.full(len(x), -1, dtype=np.int64)
    for i, chw in enumerate(x):
        ita = ita_degrees(np.ascontiguousarray(chw.transpose(1, 2, 0)))
        if ita is not None:
            out[i] = tone_from_ita(ita, offset)
    return out
