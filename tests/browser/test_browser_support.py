"""The pure helpers that build the browser tests' inputs: I420 conversion and the YUV4MPEG2 writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from browser_support import bgr_to_i420, compose_group_photo, sliding_face_frames, write_y4m


def test_grey_pixels_keep_their_level_and_have_neutral_chroma() -> None:
    levels = np.array([[0, 64], [128, 255]], np.uint8).repeat(2, axis=0).repeat(2, axis=1)  # 4x4
    frame = bgr_to_i420(np.dstack([levels] * 3))
    y, u, v = np.frombuffer(frame[:16], np.uint8), frame[16:20], frame[20:24]
    assert y.reshape(4, 4).tolist() == levels.tolist()
    assert list(u) == [128] * 4 and list(v) == [128] * 4


def test_red_has_high_v_and_blue_high_u() -> None:
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 2] = 255
    blue = np.zeros((2, 2, 3), np.uint8)
    blue[..., 0] = 255
    _, u_red, v_red = bgr_to_i420(red)[3:]
    _, u_blue, v_blue = bgr_to_i420(blue)[3:]
    assert v_red == 255 and u_red < 100
    assert u_blue == 255 and v_blue < 140


def test_odd_sides_are_refused() -> None:
    with pytest.raises(ValueError):
        bgr_to_i420(np.zeros((3, 4, 3), np.uint8))


def test_y4m_is_a_header_then_one_frame_record_per_frame(astronaut_bgr: np.ndarray, tmp_path: Path) -> None:
    frames = sliding_face_frames(astronaut_bgr, count=4)
    path = tmp_path / "v.y4m"
    write_y4m(path, frames, fps=15)
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    assert header.split() == [b"YUV4MPEG2", b"W640", b"H480", b"F15:1", b"Ip", b"A1:1", b"C420jpeg"]
    frame_bytes = 640 * 480 * 3 // 2
    assert len(body) == 4 * (len(b"FRAME\n") + frame_bytes)
    first_y = np.frombuffer(body[6 : 6 + 640 * 480], np.uint8).reshape(480, 640)
    grey = (frames[0] @ np.array([0.114, 0.587, 0.299])).round()
    assert np.abs(first_y.astype(int) - grey).max() <= 1
    assert not np.array_equal(frames[0], frames[1]), "the face should move between frames"


def test_group_photo_keeps_every_face_tile(astronaut_bgr: np.ndarray) -> None:
    tiles = [np.full((160, 160, 3), 50 * (i + 1), np.uint8) for i in range(2)]
    canvas = compose_group_photo(astronaut_bgr, tiles, tile=240)
    assert canvas.shape == (400, 420 + 2 * 280, 3)
    assert np.array_equal(canvas[10:390, 10:390], astronaut_bgr[0:380, 50:430])
    assert (canvas[80:320, 420:660] == 50).all() and (canvas[80:320, 700:940] == 100).all()
