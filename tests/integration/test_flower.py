"""Flower (the Compose ``monitor`` profile) for real: the compose command, run against the test stack's Redis and
key prefix, sees every stage's worker — so ``services.monitor:app`` carries the workers' broker settings."""

from __future__ import annotations

import sys
import time

import httpx
import pytest
from integration_stack import Processes, Stack, free_port, load_compose, service_env

pytestmark = pytest.mark.integration


def test_flower_sees_the_workers_of_every_stage(processes: Processes, stack: Stack) -> None:
    command = load_compose()["services"]["flower"]["command"]
    assert command[0] == "celery"
    port = free_port()
    argv = [sys.executable, "-m", *command, f"--port={port}", "--address=127.0.0.1"]
    env = service_env("flower", {**stack.env, "FLOWER_UNAUTHENTICATED_API": "true"})
    flower = processes.start("flower", argv, env)
    try:
        deadline = time.monotonic() + 60
        workers: dict = {}
        while time.monotonic() < deadline:
            assert flower.alive(), flower.tail()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2).text == "OK":
                    workers = httpx.get(f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout=10).json()
                    stages = {name.split("-", 1)[0] for name in workers}
                    if {"detector", "classifier", "composer"} <= stages:
                        break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        stages = {name.split("-", 1)[0] for name in workers}
        assert {"detector", "classifier", "composer"} <= stages, (workers, flower.tail())
        composer = next(info for name, info in workers.items() if name.startswith("composer-"))
        assert {q["name"] for q in composer["active_queues"]} == {"composer", "webhooks"}
    finally:
        flower.stop()
