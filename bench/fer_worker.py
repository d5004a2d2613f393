"""The peer's side of ``bench/bench_vs_fer.py``: times ``fer``'s ``FER().detect_emotions`` on given photos.

Runs under the peer's own Python (the venv ``fer`` is installed in), never under ours, and imports nothing of
this project. Protocol, one JSON object per line: it first prints ``{"ready": true, "fer": VERSION, "threads":
...}`` (or ``{"ready": false, "error": ...}`` and exits 2), then for every image path read on stdin prints
``{"ms": wall, "cpu_ms": thread CPU, "faces": n}`` (or ``{"error": ...}``). The timed part is what a user of
``fer`` runs on a photo file's bytes: ``cv2.imdecode`` + ``detect_emotions`` (Haar cascade + the quantized
TFLite emotion net, fer's defaults); reading the file is not timed.

    python bench/fer_worker.py [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1, help="OpenCV and TFLite threads")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import warnings

        warnings.filterwarnings("ignore")  # tf.lite.Interpreter's deprecation notice, pkg_resources' notice
        import cv2
        import fer as fer_package
        import numpy as np
        import tensorflow as tf
        from fer.fer import FER

        cv2.setNumThreads(args.threads)  # the Haar cascade's detectMultiScale runs on OpenCV's pool
        # fer builds its TFLite interpreter with the default thread count unless its class cache holds one:
        # give it one with ours (the same model file fer loads).
        model = Path(fer_package.__file__).parent / "data" / "emotion_model_quantized.tflite"
        interpreter = tf.lite.Interpreter(model_path=str(model), num_threads=args.threads)
        interpreter.allocate_tensors()
        FER._tflite_interpreter_cache = interpreter
        detector = FER()
    except Exception as exc:  # noqa: BLE001 - whatever stops fer from loading is reported, not raised
        say({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(2) from None

    say(
        {
            "ready": True,
            "fer": getattr(fer_package, "__version__", "?"),
            "tensorflow": tf.__version__,
            "opencv": cv2.__version__,
            "threads": f"OpenCV {cv2.getNumThreads()}, TFLite {args.threads}",
        }
    )
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        try:
            data = Path(path).read_bytes()
            t, c = time.perf_counter(), time.thread_time()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            faces = detector.detect_emotions(image)
            wall, cpu = time.perf_counter() - t, time.thread_time() - c
            say({"ms": wall * 1000, "cpu_ms": cpu * 1000, "faces": len(faces)})
        except Exception as exc:  # noqa: BLE001 - one bad photo is reported, the worker goes on
            say({"error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
