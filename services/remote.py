"""``emoticon analyze --server URL PATH...``: the local CLI's JSON Lines, files and progress bar, with the work
done by a running service, sent as batches through the Python client (``emoticon_client``).

Files go in batches of at most ``--batch-size`` files and ``MAX_BATCH_BYTES`` bytes (below the server's default
limits); each batch's results stream back in upload order, so lines come out in the order of the files, as
locally. A batch refused with 429 is sent again after the server's ``Retry-After``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_OVERLOADED_RETRIES = 30


def plan_batches(sizes: list[int], max_files: int, max_bytes: int) -> list[range]:
    """Consecutive index ranges of at most ``max_files`` files and ``max_bytes`` bytes each (a single file
    larger than ``max_bytes`` goes alone)."""
    batches: list[range] = []
    start = 0
    total = 0
    for index, size in enumerate(sizes):
        if index > start and (index - start >= max_files or total + size > max_bytes):
            batches.append(range(start, index))
            start, total = index, 0
        total += size
    if start < len(sizes):
        batches.append(range(start, len(sizes)))
    return batches


def error_record(path: Path, code: str, message: str) -> dict[str, Any]:
    return {"path": str(path), "error": {"code": code, "message": message}}


def analyze_on_server(args: argparse.Namespace, files: list[Path], show_progress: bool) -> int:
    """Send ``files`` through the service at ``args.server``; same output and exit status as the local run."""
    import httpx
    from tqdm import tqdm

    from emoticon_client import EmoticonClient, EmoticonError

    out_dir: Path | None = args.out
    jsonl: IO[str] | None = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        jsonl = (out_dir / "results.jsonl").open("w")
    failures = 0
    sizes = [path.stat().st_size if path.is_file() else 0 for path in files]
    bar = tqdm(total=len(files), unit="img", disable=not show_progress, file=sys.stderr)

    def emit(index: int, record: dict[str, Any]) -> None:
        nonlocal failures
        if "error" in record:
            failures += 1
            print(
                f"{record['path']}: {record['error']['code']}: {record['error']['message']}", file=sys.stderr
            )
        line = json.dumps(record, ensure_ascii=False)
        if jsonl is not None:
            jsonl.write(line + "\n")
        if args.json or out_dir is None:
            print(line, flush=True)
        bar.update(1)

    try:
        with EmoticonClient(args.server, api_key=args.api_key, timeout=120.0) as client:
            for indexes in plan_batches(sizes, args.batch_size, MAX_BATCH_BYTES):
                for index, record in run_batch(client, args, files, indexes, len(files) > 1):
                    emit(index, record)
    except EmoticonError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"error: cannot use the server {args.server}: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
        if jsonl is not None:
            jsonl.close()
    if failures:
        print(f"{failures} of {len(files)} files failed", file=sys.stderr)
    return 1 if failures else 0


def run_batch(
    client: Any, args: argparse.Namespace, files: list[Path], indexes: range, numbered: bool
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(file index, JSON record) for each file of one batch, in file order."""
    from emoticon_client import Overloaded

    sent: list[int] = []  # file index of each uploaded part
    unreadable: dict[int, dict[str, Any]] = {}
    parts: list[tuple[str, bytes]] = []
    for index in indexes:
        try:
            parts.append((files[index].name, files[index].read_bytes()))
            sent.append(index)
        except OSError as exc:
            unreadable[index] = error_record(files[index], "unreadable", str(exc))
    pending = sorted(unreadable)

    def unreadable_before(limit: int) -> Iterator[tuple[int, dict[str, Any]]]:
        while pending and pending[0] < limit:
            index = pending.pop(0)
            yield index, unreadable[index]

    if parts:
        for attempt in range(MAX_OVERLOADED_RETRIES + 1):
            try:
                created = client.submit_batch(parts, size=args.size, tone=args.tone)
                break
            except Overloaded as exc:
                if attempt == MAX_OVERLOADED_RETRIES:
                    raise
                time.sleep(getattr(exc, "retry_after", None) or 2.0)
        for line in client.batch_results(created.id, wait=None):
            index = sent[line.index]
            yield from unreadable_before(index)
            path = files[index]
            if line.result is None:
                error = line.error
                code, message = (error.code, error.message) if error else ("failed", "the job failed")
                yield index, error_record(path, code, message)
                continue
            if args.out is not None and line.job_id is not None:
                stem = f"{index:05d}_{path.stem}" if numbered else path.stem
                save_renders(client, line.job_id, args.out / stem)
            yield index, {"path": str(path), **line.result.model_dump(mode="json")}
    yield from unreadable_before(len(files))


def save_renders(client: Any, job_id: str, folder: Path) -> None:
    """The job's files under ``folder`` as the local CLI writes them: faces/N.svg, faces/N.png, overlay.png."""
    job = client.job(job_id)
    links: list[tuple[str, str]] = []
    for index, face in enumerate(job.links.faces):
        links.append((f"faces/{index}.svg", face.svg))
        if face.png:
            links.append((f"faces/{index}.png", face.png))
    if job.links.overlay:
        links.append(("overlay.png", job.links.overlay))
    for name, link in links:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.file(link))
