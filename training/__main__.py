"""``python -m training <head> [--epochs N] [--subset K] [--no-export]``: data → train → ONNX → model card.

Examples::

    python -m training emotion                 # full run (resumes from runs/emotion/last.pt)
    python -m training mask --subset 64 --epochs 1 --run-dir /tmp/smoke --models-dir /tmp/smoke/models
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from services.settings import REPO_ROOT

from .heads import HEADS
from .pipeline import run_head


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    parser.add_argument("head", choices=sorted(HEADS))
    parser.add_argument("--epochs", type=int, default=None, help="default: the head's recipe")
    parser.add_argument("--subset", type=int, default=None, help="at most K images per split (smoke runs)")
    parser.add_argument("--run-dir", type=Path, default=REPO_ROOT / "runs")
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-export", action="store_true", help="train and evaluate only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    import cv2

    cv2.setNumThreads(args.threads)  # res10 framing; more threads than free cores only thrash
    run_head(
        HEADS[args.head],
        run_dir=args.run_dir / args.head if not args.subset else args.run_dir / f"{args.head}-subset{args.subset}",
        models_dir=args.models_dir,
        epochs=args.epochs,
        subset=args.subset,
        threads=args.threads,
        export=not args.no_export,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
