"""Batches end to end in both modes (real gateway, real workers, real Redis), through the Python client and raw
HTTP; and ``emoticon analyze --server``, whose output must be the local CLI's."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from integration_stack import Gateway
from photos import write_mixed_photo_folder

from emoticon_client import EmoticonClient, JobView
from services.contracts import JobStatus
from services.settings import REPO_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory: pytest.TempPathFactory, astronaut_bgr: np.ndarray) -> Path:
    """The folder of tests/test_cli.py: one face, three faces (in a subfolder), none, not an image, truncated."""
    return write_mixed_photo_folder(tmp_path_factory.mktemp("photos"), astronaut_bgr)


def test_a_batch_reports_progress_links_and_results_with_bad_files_failing_alone(
    gateway: Gateway, photo_folder: Path
) -> None:
    files = [
        photo_folder / n for n in ("astronaut.jpg", "notes.jpg", "party/group.png", "cut.jpg", "coffee.jpg")
    ]
    with EmoticonClient(gateway.url) as client:
        created = client.submit_batch([*files, ("empty.jpg", b"")], size=64)
        assert created.total == 6 and created.counts.failed >= 1  # the empty file is refused at once
        lines = list(client.batch_results(created.id, wait=120))
        view = client.batch(created.id)

    assert [line.index for line in lines] == list(range(6))
    assert [line.filename for line in lines] == [
        "astronaut.jpg",
        "notes.jpg",
        "group.png",
        "cut.jpg",
        "coffee.jpg",
        "empty.jpg",
    ]
    by_name = {line.filename: line for line in lines}
    assert [len(by_name[n].result.faces) for n in ("astronaut.jpg", "group.png", "coffee.jpg")] == [1, 3, 0]
    assert (
        by_name["notes.jpg"].error.code == "invalid_image"
        and by_name["cut.jpg"].error.code == "invalid_image"
    )
    assert by_name["empty.jpg"].error.code == "empty_upload" and by_name["empty.jpg"].job_id is None

    assert view.status == "done"
    assert view.counts.model_dump() == {"queued": 0, "running": 0, "done": 3, "failed": 3}
    with gateway.client() as http:
        for item in view.items[:5]:
            job = JobView.model_validate(http.get(item.links.job).json())  # each item links its job
            assert job.batch_id == created.id and job.status == item.status
        assert view.items[5].links.job is None


def test_results_stream_as_json_lines_and_resume_from_an_index(
    gateway: Gateway, astronaut_jpeg: bytes
) -> None:
    with gateway.client() as http:
        files = [("files", (f"{i}.jpg", astronaut_jpeg, "image/jpeg")) for i in range(3)]
        created = http.post("/v1/batches?renders=svg", files=files)
        assert created.status_code == 202, created.text
        results = created.json()["links"]["results"]
        response = http.get(results, params={"wait": 30})
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "application/jsonl"
        )
        lines = [json.loads(text) for text in response.text.splitlines()]
        assert [line["index"] for line in lines] == [0, 1, 2]
        assert all(line["status"] == "done" and len(line["result"]["faces"]) == 1 for line in lines)
        tail = [json.loads(t) for t in http.get(results, params={"start": 2}).text.splitlines()]
        assert tail == lines[2:]


def test_the_async_client_runs_jobs_and_batches(gateway: Gateway, astronaut_jpeg: bytes) -> None:
    import asyncio

    from emoticon_client import AsyncEmoticonClient, InvalidImage

    async def scenario() -> None:
        async with AsyncEmoticonClient(gateway.url) as client:
            job, lines = await asyncio.gather(
                client.analyze(astronaut_jpeg, wait=60, size=64),
                client.analyze_many([astronaut_jpeg, b"nope"], wait=120, renders="svg"),
            )
            assert job.status == JobStatus.done and len(job.result.faces) == 1
            assert (await client.face_png(job, 0)).startswith(b"\x89PNG")
            assert [line.status for line in lines] == [JobStatus.done, JobStatus.failed]
            with pytest.raises(InvalidImage):
                await client.analyze(b"not an image", wait=5)

    # on a thread of its own: the browser tests' Playwright keeps an event loop running on this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


# ---- the CLI's --server mode ---------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO_ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def comparable(stdout: str) -> list[dict]:
    """The JSON lines without the timings (wall times differ from run to run)."""
    records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    for record in records:
        record.pop("timings_ms", None)
        if "error" in record:
            record["error"].pop("message")  # the same code; the wording may name the stage
    return records


def test_analyze_with_server_prints_what_the_local_cli_prints(
    distributed_gateway: Gateway, photo_folder: Path, tmp_path: Path
) -> None:
    local = run_cli("analyze", str(photo_folder), "--json", "--size", "96", "--out", str(tmp_path / "local"))
    remote = run_cli(
        "analyze", str(photo_folder), "--json", "--size", "96", "--out", str(tmp_path / "remote"),
        "--server", distributed_gateway.url, "--batch-size", "2",
    )  # fmt: skip
    assert local.returncode == remote.returncode == 1, remote.stderr  # two files fail, the rest is analysed
    assert comparable(remote.stdout) == comparable(local.stdout)
    assert len(comparable(remote.stdout)) == 5

    # the same files written, under the same names
    def tree(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    assert tree(tmp_path / "remote") == tree(tmp_path / "local")
    group_svg = next((tmp_path / "remote").glob("*_group/faces/2.svg"))
    assert group_svg.read_bytes() == next((tmp_path / "local").glob("*_group/faces/2.svg")).read_bytes()
    # a progress bar from 5 files on, as locally
    assert "5/5" in remote.stderr and "2 of 5 files failed" in remote.stderr


def test_analyze_with_server_reports_an_unreachable_server(photo_folder: Path) -> None:
    with httpx.Client() as probe:  # find a port nobody listens on
        from integration_stack import free_port

        port = free_port()
        with pytest.raises(httpx.ConnectError):
            probe.get(f"http://127.0.0.1:{port}/healthz")
    result = run_cli("analyze", str(photo_folder / "astronaut.jpg"), "--server", f"http://127.0.0.1:{port}")
    assert result.returncode == 2 and "cannot use the server" in result.stderr
