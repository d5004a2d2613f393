"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the Compose Specification's JSON
schema (as vendored by check-jsonschema), the commands parsed by the real CLI, and the integration tests
starting exactly the compose commands."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import jsonschema
import pytest
from integration_stack import STAGES, Gateway, Stack, emoticon_launcher, load_compose, service_argv

from services.cli import build_parser
from services.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

WORKERS = set(STAGES)


def compose_schema() -> dict:
    """The Compose Specification schema shipped inside the check-jsonschema package (a test dependency)."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "compose-spec.json").read_text())


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load_compose())
    ]
    assert not errors, "\n".join(errors)


def test_the_schema_catches_a_broken_compose_file() -> None:
    broken = load_compose()
    broken["services"]["gateway"]["depends_on"]["redis"]["condition"] = "service_maybe"
    broken["services"]["detector"]["healthcheck"]["interval"] = 30  # must be a duration string
    errors = list(jsonschema.Draft202012Validator(compose_schema()).iter_errors(broken))
    assert len(errors) >= 2


def test_services_health_checks_and_start_order() -> None:
    services = load_compose()["services"]
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == {"redis", "gateway", *WORKERS}
    assert set(services) - default == {"flower"}  # optional: `docker compose --profile monitor up`
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in ("gateway", *WORKERS):
        depends = services[name]["depends_on"]
        assert depends["redis"] == {"condition": "service_healthy"}, name
        assert services[name]["environment"]["EMOTICON_REDIS_URL"].startswith("redis://redis:6379/")
    assert {k: v["condition"] for k, v in services["gateway"]["depends_on"].items()} == {
        name: "service_healthy" for name in ("redis", *WORKERS)
    }
    assert "8000:8000" in services["gateway"]["ports"]


def test_flower_is_an_optional_monitor_on_the_workers_celery_app() -> None:
    flower = load_compose()["services"]["flower"]
    assert flower["profiles"] == ["monitor"]
    assert flower["command"][:4] == ["celery", "--app", "services.monitor:app", "flower"]
    assert "5555:5555" in flower["ports"] and "5555/healthcheck" in flower["healthcheck"]["test"][-1]
    assert flower["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert flower["environment"]["EMOTICON_REDIS_URL"].startswith("redis://redis:6379/")
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert 'RUN pip install ".[monitor]"' in dockerfile  # flower is in the image


def test_commands_are_what_the_cli_accepts() -> None:
    services = load_compose()["services"]
    parser = build_parser()
    gateway = parser.parse_args(services["gateway"]["command"][1:])
    assert (gateway.command, gateway.distributed, gateway.host) == ("serve", True, "0.0.0.0")
    for stage in WORKERS:
        args = parser.parse_args(services[stage]["command"][1:])
        assert (args.command, args.stage) == ("worker", stage)
        assert services[stage]["healthcheck"]["test"][-1] == stage


def test_environment_names_are_settings() -> None:
    fields = {f"EMOTICON_{name.upper()}" for name in Settings.model_fields}
    for name, service in load_compose()["services"].items():
        for key in service.get("environment") or {}:
            assert key in fields, f"{name}: {key} is not a setting"


def test_dockerfile_bakes_the_models_and_serves_the_gateway() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    run_lines = [line.strip() for line in dockerfile.splitlines() if line.startswith("RUN ")]
    install = next(i for i, line in enumerate(run_lines) if re.match(r"RUN pip install \.$", line))
    assert run_lines.index("RUN emoticon setup") > install
    assert "EXPOSE 8000" in dockerfile
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))
    assert cmd == load_compose()["services"]["gateway"]["command"]


def process_argv(pid: int) -> list[str]:
    """The command line of a running process, as launched: a console script's interpreter (from its shebang)
    is dropped."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().rstrip("\0").split("\0")
    launcher = emoticon_launcher()
    if len(launcher) == 1 and argv[1:2] == launcher:
        argv = argv[1:]
    return argv


def test_integration_processes_run_the_compose_commands(stack: Stack, distributed_gateway: Gateway) -> None:
    """The running test workers and gateway execute the compose command lines (only the launcher of
    ``emoticon`` and the gateway's listen address differ)."""
    compose = load_compose()["services"]
    launcher = emoticon_launcher()
    for stage, worker in stack.workers.items():
        assert process_argv(worker.pid) == [*launcher, *compose[stage]["command"][1:]]
    argv = process_argv(distributed_gateway.process.pid)
    assert argv[: len(launcher) + len(compose["gateway"]["command"]) - 1] == [
        *launcher,
        *compose["gateway"]["command"][1:],
    ]
    assert argv == service_argv("gateway", extra=argv[-4:])
    assert argv[-4:-1] == ["--host", "127.0.0.1", "--port"]
