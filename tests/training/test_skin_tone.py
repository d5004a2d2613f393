"""ITA-based skin-tone labelling: monotone in lightness, orders real faces plausibly."""

from __future__ import annotations

import numpy as np

from training.skin_tone import ita_degrees, tone_from_ita


def _face_patch(rgb: tuple[int, int, int]) -> np.ndarray:
    patch = np.zeros((64, 64, 3), np.uint8)
    patch[:] = rgb
    return patch


def test_lighter_skin_colour_gives_higher_ita_and_lighter_class() -> None:
    light = ita_degrees(_face_patch((234, 192, 160)))
    dark = ita_degrees(_face_patch((110, 70, 50)))
    assert light is not None and dark is not None
    assert light > dark
    assert tone_from_ita(light) < tone_from_ita(dark)  # 0 = light ... 4 = dark


def test_no_skin_pixels_means_no_label() -> None:
    assert ita_degrees(_face_patch((30, 90, 200))) is None  # blue is not skin


def test_classes_are_monotone_in_ita() -> None:
    classes = [tone_from_ita(a) for a in np.linspace(-90, 90, 181)]
    assert classes == sorted(classes, reverse=True)
    assert set(classes) == {0, 1, 2, 3, 4}
