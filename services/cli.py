"""The ``emoticon`` command: ``setup``, ``analyze``, ``serve``, ``worker``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from services.contracts import RenderOptions
from services.errors import EmoticonError
from services.settings import Settings, get_settings

log = logging.getLogger("emoticon")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".jfif"}
PROGRESS_FROM = 5  # files; fewer than that need no progress bar


def iter_image_paths(paths: list[Path]) -> Iterator[Path]:
    """Files as given (any name: type is checked by content), and image files found under folders, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from services.classifier import FaceClassifier
    from services.detector import ensure_detector_files

    folder = ensure_detector_files(settings)
    print(f"detector files ready in {folder}")
    classifier = FaceClassifier(settings)
    print(f"heads ready: {', '.join([*classifier.heads, *classifier.optional_heads])} (sha256 checked)")
    return 0


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from services.pipeline import Models, analyze, face_png_files

    files = list(iter_image_paths(args.paths))
    if not files:
        print("no images found", file=sys.stderr)
        return 2
    if args.server:
        from services.remote import analyze_on_server

        if args.whole_face:
            print("--whole-face is not available with --server", file=sys.stderr)
            return 2
        return analyze_on_server(args, files, show_progress=len(files) >= PROGRESS_FROM and not args.quiet)
    models = Models.load(settings)
    options = RenderOptions(size=args.size, tone=args.tone)
    out_dir: Path | None = args.out
    jsonl = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        jsonl = (out_dir / "results.jsonl").open("w")
    failures = 0
    bar = tqdm(files, unit="img", disable=len(files) < PROGRESS_FROM or args.quiet, file=sys.stderr)
    for index, path in enumerate(bar):
        record: dict
        try:
            composed = analyze(path.read_bytes(), models, settings, options, whole_face=args.whole_face)
            record = {"path": str(path), **composed.result.model_dump(mode="json")}
            if out_dir is not None:
                stem = f"{index:05d}_{path.stem}" if len(files) > 1 else path.stem
                rendered = {**composed.files, **face_png_files(composed.result, options)}
                for name, data in rendered.items():
                    target = out_dir / stem / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
        except EmoticonError as exc:
            failures += 1
            record = {"path": str(path), "error": {"code": exc.code, "message": exc.message}}
            print(f"{path}: {exc.code}: {exc.message}", file=sys.stderr)
        except OSError as exc:
            failures += 1
            record = {"path": str(path), "error": {"code": "unreadable", "message": str(exc)}}
            print(f"{path}: unreadable: {exc}", file=sys.stderr)
        line = json.dumps(record, ensure_ascii=False)
        if jsonl is not None:
            jsonl.write(line + "\n")
        if args.json or out_dir is None:
            print(line, flush=True)
    if jsonl is not None:
        jsonl.close()
    if failures:
        print(f"{failures} of {len(files)} files failed", file=sys.stderr)
    return 1 if failures else 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import run_server

    updates = {"mode": "distributed" if args.distributed else "embedded"}
    if args.host:
        updates["host"] = args.host
    if args.port:
        updates["port"] = args.port
    run_server(settings.model_copy(update=updates))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from services.worker import start_worker

    start_worker(args.stage, settings.model_copy(update={"mode": "distributed"}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoticon", description="Photos to emoticons of every face in them.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("setup", help="fetch the res10 face detector (sha256-checked) and check the heads")

    analyze = sub.add_parser("analyze", help="analyse image files or folders; JSON Lines out")
    analyze.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    analyze.add_argument("--json", action="store_true", help="print JSON Lines to stdout also with --out")
    analyze.add_argument("--out", type=Path, help="write results.jsonl and every emoticon (SVG, PNG, overlay) here")
    analyze.add_argument("--size", type=int, default=256, help="PNG side in pixels (16-1024)")
    analyze.add_argument(
        "--tone", default="auto", choices=["auto", "yellow", "light", "medium_light", "medium", "medium_dark", "dark"]
    )
    analyze.add_argument("--whole-face", action="store_true", help="skip detection: each image is one face crop")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    analyze.add_argument("--server", metavar="URL", help="send the files to a running service (as batches)")
    analyze.add_argument("--api-key", help="X-API-Key for --server")
    analyze.add_argument("--batch-size", type=int, default=100, help="files per batch with --server")

    serve = sub.add_parser("serve", help="run the HTTP gateway (embedded by default) and the web page")
    serve.add_argument("--distributed", action="store_true", help="send jobs to Celery workers over Redis")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    worker = sub.add_parser("worker", help="run a Celery worker for one stage")
    worker.add_argument("stage", choices=["detector", "classifier", "composer"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    settings = get_settings()
    if args.command == "analyze" and not 16 <= args.size <= 1024:
        print("--size must be between 16 and 1024", file=sys.stderr)
        return 2
    handlers = {"setup": cmd_setup, "analyze": cmd_analyze, "serve": cmd_serve, "worker": cmd_worker}
    try:
        return handlers[args.command](args, settings)
    except EmoticonError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
