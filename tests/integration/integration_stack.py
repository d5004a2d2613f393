"""Helpers to run real processes for the integration tests: Redis (127.0.0.1:6379, database 15, one key prefix per session),
Celery workers and gateways started with the very commands and environment of ``docker-compose.yml``.

Only the values that must differ on this machine are overridden: the Redis URL (the compose file names the
``redis`` service), the key prefix, the listen address/port of the gateway, and short time limits so that a
killed worker's job comes back within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from services.settings import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
STAGES = ("detector", "classifier", "composer")
START_TIMEOUT_S = 120.0
WEBHOOK_SECRET = "it-webhook-secret"


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def emoticon_launcher() -> list[str]:
    """How ``emoticon`` is run here: the installed console script, else the same entry point via ``-m``."""
    script = shutil.which("emoticon")
    return [script] if script else [sys.executable, "-m", "services.cli"]


def service_command(service: str) -> list[str]:
    command = load_compose()["services"][service]["command"]
    assert command[0] == "emoticon", f"compose service {service} does not run the emoticon command"
    return list(command)


def service_argv(service: str, extra: list[str] | None = None, drop: tuple[str, ...] = ()) -> list[str]:
    """The compose service's ``command`` with ``emoticon`` resolved here, minus ``drop`` flags, plus ``extra``."""
    command = [arg for arg in service_command(service) if arg not in drop]
    return [*emoticon_launcher(), *command[1:], *(extra or [])]


def service_env(service: str, overrides: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (load_compose()["services"][service].get("environment") or {}).items()})
    env.update(overrides)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServiceProcess:
    """A process started in its own session, so it and its children can be signalled as a group."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=REPO_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def kill(self) -> None:
        """SIGKILL the whole group: no warm shutdown, no message handed back."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM to the main process (Celery and uvicorn then shut down warm), SIGKILL to what is left."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.log.close()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Processes:
    """Every process a test session started; all are stopped at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[ServiceProcess] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> ServiceProcess:
        process = ServiceProcess(name, argv, env, self.log_dir / f"{name}-{len(self.started)}.log")
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


@dataclass
class Gateway:
    url: str
    process: ServiceProcess
    mode: str

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0, **kwargs)

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise AssertionError(f"gateway exited:\n{self.process.tail()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=5.0)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise AssertionError(f"gateway not ready after {timeout_s}s: {last}\n{self.process.tail()}")


class Stack:
    """Workers and gateways sharing one Redis URL and key prefix."""

    def __init__(self, processes: Processes, env: dict[str, str], label: str) -> None:
        self.processes = processes
        self.env = env
        self.label = label
        self.workers: dict[str, ServiceProcess] = {}

    def start_worker(self, stage: str, **overrides: str) -> ServiceProcess:
        """A worker of ``stage`` with ``overrides`` in its environment."""
        process = self.processes.start(
            f"{self.label}-worker-{stage}", service_argv(stage), service_env(stage, {**self.env, **overrides})
        )
        self.workers[stage] = process
        return process

    def start_workers(self) -> None:
        for stage in STAGES:
            self.start_worker(stage)

    def start_gateway(self, mode: str = "distributed", wait: bool = True, **overrides: str) -> Gateway:
        """A gateway on a free port with ``overrides`` in its environment; ready (``wait``) or just started."""
        port = free_port()
        argv = service_argv(
            "gateway",
            extra=["--host", "127.0.0.1", "--port", str(port)],
            drop=() if mode == "distributed" else ("--distributed",),
        )
        env = service_env("gateway", {**self.env, **overrides})
        process = self.processes.start(f"{self.label}-gateway-{mode}", argv, env)
        gateway = Gateway(f"http://127.0.0.1:{port}", process, mode)
        if wait:
            gateway.wait_ready()
        return gateway

    def workers_alive(self) -> bool:
        return all(p.alive() for p in self.workers.values())


def stack_env(redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "EMOTICON_REDIS_URL": redis_url,
        "EMOTICON_KEY_PREFIX": prefix,
        # seconds: far above a real stage here (< 3 s), low enough that a SIGKILLed worker's message comes
        # back (visibility timeout) within the test's patience
        "EMOTICON_TASK_SOFT_TIME_LIMIT_S": "10",
        "EMOTICON_TASK_HARD_TIME_LIMIT_S": "12",
        "EMOTICON_BROKER_VISIBILITY_TIMEOUT_S": "15",
        "EMOTICON_MAX_UPLOAD_BYTES": str(8 * 1024 * 1024),
        # webhooks (tests/integration/test_webhooks.py): the receiver runs on 127.0.0.1, the one address allowed
        # besides public ones; retries come quickly
        "EMOTICON_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EMOTICON_WEBHOOK_ALLOW": "127.0.0.1",
        "EMOTICON_WEBHOOK_BACKOFF_S": "0.3",
        "EMOTICON_WEBHOOK_MAX_ATTEMPTS": "4",
    }


def wait_for_job(client: httpx.Client, job_id: str, timeout_s: float = 60.0) -> dict:
    """Poll until the job is done or failed; returns its JSON."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("done", "failed"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} still {job['status']} ({job.get('stage')}) after {timeout_s}s"
            )
        time.sleep(0.05)
