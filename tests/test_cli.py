"""``emoticon analyze`` end to end, as a user runs it: a real process over a folder of real, mixed files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import cv2
import numpy as np
import pytest
from photos import group_photo, write_mixed_photo_folder

from services.cli import iter_image_paths


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], check=False, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory, astronaut_bgr: np.ndarray) -> Path:
    """A folder as users have them: a one-face JPEG, a three-face PNG in a subfolder, a face-free photo,
    a file that is not an image, and a truncated JPEG."""
    return write_mixed_photo_folder(tmp_path_factory.mktemp("photos"), astronaut_bgr)


@pytest.fixture(scope="module")
def analyzed(photo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("out")
    return run_cli("analyze", str(photo_folder), "--out", str(out), "--json", "--size", "96"), out


def _records(result: subprocess.CompletedProcess) -> dict[str, dict]:
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {Path(r["path"]).name: r for r in lines}


def test_one_json_line_per_file_and_a_failing_exit_code(analyzed) -> None:
    result, out = analyzed
    records = _records(result)
    assert set(records) == {"astronaut.jpg", "group.png", "coffee.jpg", "notes.jpg", "cut.jpg"}
    assert result.returncode == 1  # two files failed, the others were still analysed
    assert records["notes.jpg"]["error"]["code"] == "invalid_image"
    assert records["cut.jpg"]["error"]["code"] == "invalid_image"
    assert (out / "results.jsonl").read_text().count("\n") == 5


def test_faces_per_image_with_boxes_and_all_four_heads(analyzed) -> None:
    records = _records(analyzed[0])
    assert len(records["astronaut.jpg"]["faces"]) == 1
    assert len(records["group.png"]["faces"]) == 3
    assert records["coffee.jpg"]["faces"] == []
    xs = [f["box"]["x"] for f in records["group.png"]["faces"]]
    assert xs == sorted(xs)
    face = records["astronaut.jpg"]["faces"][0]
    assert set(face["attributes"]) == {"emotion", "eyewear", "mask", "skin_tone", "frame"}
    assert face["attributes"]["frame"] is None  # no face here wears clear glasses
    assert abs(sum(face["attributes"]["emotion"]["probabilities"].values()) - 1) < 1e-3
    assert face["emoji"]


def test_emoticons_are_written_for_every_face(analyzed) -> None:
    _, out = analyzed
    group_dir = next(p for p in out.iterdir() if p.name.endswith("_group"))
    svgs = sorted((group_dir / "faces").glob("*.svg"))
    pngs = sorted((group_dir / "faces").glob("*.png"))
    assert len(svgs) == len(pngs) == 3
    png = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
    assert png.shape[:2] == (96, 96)
    assert ElementTree.fromstring(svgs[0].read_text()).tag.endswith("svg")
    overlay = cv2.imread(str(group_dir / "overlay.png"))
    assert overlay.shape[:2] == group_photo().shape[:2]


def test_whole_face_treats_each_image_as_one_face(photo_folder: Path) -> None:
    result = run_cli("analyze", str(photo_folder / "coffee.jpg"), "--whole-face")
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    (face,) = record["faces"]
    assert face["box"]["relative"] == {"x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0}
    assert face["box"]["width"] == record["image"]["width"]


def test_bad_size_is_refused_before_any_work() -> None:
    result = run_cli("analyze", "whatever.jpg", "--size", "5000")
    assert result.returncode == 2 and "--size" in result.stderr


def test_folders_are_searched_recursively_for_image_files(photo_folder: Path) -> None:
    (photo_folder / "party" / "readme.txt").write_text("not an image suffix: skipped in folders")
    names = {p.name for p in iter_image_paths([photo_folder])}
    assert names == {"astronaut.jpg", "group.png", "coffee.jpg", "notes.jpg", "cut.jpg"}
