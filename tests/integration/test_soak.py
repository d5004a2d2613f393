"""Soak tests (``slow``, left out of CI: ``pytest -m slow tests/integration/test_soak.py -s`` runs them, about
half an hour on 2 cores): memory stays bounded under thousands of jobs with the default settings.

- embedded: 5,000 one-face jobs through ``emoticon serve``: the process's RSS stays within +100 MiB of its
  value after the first 500 jobs (the default 192 MiB job store fills within them, then evicts);
- distributed: 2,000 jobs through the gateway and one worker per stage: Redis ``used_memory`` never exceeds
  ``EMOTICON_STORE_MAX_BYTES``.

Both print their curve (every 250 / 100 jobs) and the figures the assertions use.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis
from integration_stack import Gateway, Processes, Stack, stack_env

from services.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MIB = 1024 * 1024
EMBEDDED_JOBS = 5000
EMBEDDED_WARMUP = 500
RSS_GROWTH_LIMIT = 100 * MIB
DISTRIBUTED_JOBS = 2000
CLIENTS = 3


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def one_face_uploads(photo: np.ndarray, n: int = 32) -> list[bytes]:
    """``n`` different JPEGs of the photo (a slightly different crop each), all 512 px."""
    out = []
    for i in range(n):
        crop = photo[i % 8 :, (i // 8) % 8 :]
        image = cv2.resize(crop, (512, 512), interpolation=cv2.INTER_AREA)
        out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return out


def run_jobs(gateway: Gateway, uploads: list[bytes], total: int, every: int, sample) -> list[tuple[int, int]]:
    """Send ``total`` jobs (``CLIENTS`` at a time, each waiting for its result); ``sample()`` after every job,
    printed every ``every`` jobs. Returns ``[(jobs done, sample)]``."""
    curve: list[tuple[int, int]] = []
    done = 0
    t0 = time.monotonic()
    with gateway.client() as client, ThreadPoolExecutor(max_workers=CLIENTS) as pool:

        def one(i: int) -> str:
            response = client.post("/v1/jobs?wait=30", content=uploads[i % len(uploads)])
            if response.status_code == 503 and response.json()["error"]["code"] == "store_full":
                time.sleep(float(response.headers["retry-after"]))
                return "store_full"
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "done", response.text
            return "done"

        for start in range(0, total, CLIENTS):
            outcomes = list(pool.map(one, range(start, min(total, start + CLIENTS))))
            done += outcomes.count("done")
            curve.append((start + len(outcomes), sample()))
            if (start // CLIENTS) % max(1, every // CLIENTS) == 0 or start + CLIENTS >= total:
                store = client.get("/readyz").json()["checks"]["store"]
                print(
                    f"  {start + len(outcomes):5d} jobs  {curve[-1][1] / MIB:7.1f} MiB  store "
                    f"{store['used_bytes'] / MIB:6.1f}+{store['reserved_bytes'] / MIB:.1f}/"
                    f"{store['max_bytes'] / MIB:.0f} MiB  evicted {store['evictions']:5d}  "
                    f"{(time.monotonic() - t0) / max(1, start + len(outcomes)) * 1000:.0f} ms/job",
                    flush=True,
                )
    assert done >= total * 0.99, f"only {done} of {total} jobs done"
    return curve


def test_embedded_rss_stays_bounded_over_5000_jobs(processes: Processes, astronaut_bgr: np.ndarray) -> None:
    stack = Stack(processes, stack_env("redis://127.0.0.1:6379/15", f"soak-{uuid.uuid4().hex[:8]}"), "soak-e")
    gateway = stack.start_gateway("embedded")
    pid = gateway.process.pid
    print(f"\nembedded soak: {EMBEDDED_JOBS} jobs, RSS of the gateway (pid {pid}), default store budget")
    curve = run_jobs(gateway, one_face_uploads(astronaut_bgr), EMBEDDED_JOBS, 250, lambda: rss_bytes(pid))
    gateway.process.stop()
    after_warmup = next(rss for jobs, rss in curve if jobs >= EMBEDDED_WARMUP)
    peak = max(rss for jobs, rss in curve if jobs >= EMBEDDED_WARMUP)
    print(
        f"RSS: start {curve[0][1] / MIB:.1f} MiB, after {EMBEDDED_WARMUP} jobs {after_warmup / MIB:.1f} MiB, "
        f"peak after that {peak / MIB:.1f} MiB (+{(peak - after_warmup) / MIB:.1f} MiB), "
        f"end {curve[-1][1] / MIB:.1f} MiB"
    )
    assert peak - after_warmup <= RSS_GROWTH_LIMIT


def test_distributed_redis_memory_stays_within_the_budget_over_2000_jobs(
    processes: Processes, own_redis: redis.Redis, astronaut_bgr: np.ndarray
) -> None:
    own_redis.flushall()
    port = own_redis.connection_pool.connection_kwargs["port"]
    stack = Stack(
        processes, stack_env(f"redis://127.0.0.1:{port}/0", f"soak-{uuid.uuid4().hex[:8]}"), "soak-d"
    )
    stack.start_workers()
    gateway = stack.start_gateway("distributed")
    budget = Settings().store_max_bytes
    used = lambda: int(own_redis.info("memory")["used_memory"])
    print(f"\ndistributed soak: {DISTRIBUTED_JOBS} jobs, Redis used_memory, budget {budget / MIB:.0f} MiB")
    curve = run_jobs(gateway, one_face_uploads(astronaut_bgr), DISTRIBUTED_JOBS, 100, used)
    peak = max(value for _, value in curve)
    print(
        f"used_memory: start {curve[0][1] / MIB:.1f} MiB, peak {peak / MIB:.1f} MiB, end {curve[-1][1] / MIB:.1f} MiB"
    )
    for process in [gateway.process, *stack.workers.values()]:
        process.stop()
    assert peak <= budget
