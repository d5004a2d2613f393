"""deploy/k8s, checked offline: every core resource against the Kubernetes OpenAPI schemas shipped in the
``kubernetes-validate`` package (strict: unknown fields are errors), the KEDA ScaledObjects against our own
schema of the fields they use (keda-scaledobject.schema.json: no CRD schemas ship with that package), and the
wiring between them: the commands are the CLI's and Compose's, probes hit /healthz and /readyz, every container
asks for resources, and each stage scales on exactly the Redis lists its workers consume."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.cli import build_parser
from services.settings import REPO_ROOT, Settings
from services.worker import STAGES, broker_key_prefix, queue_key, worker_queues

K8S_DIR = REPO_ROOT / "deploy" / "k8s"
KEDA_SCHEMA = Path(__file__).with_name("keda-scaledobject.schema.json")
KUBERNETES_VERSION = "1.30"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def load_docs() -> list[dict]:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [doc for doc in yaml.safe_load_all((K8S_DIR / name).read_text()) if doc]
    return docs


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return load_docs()


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def container(deployment: dict) -> dict:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def keda_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(KEDA_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_core_resources_are_valid_kubernetes(docs: list[dict]) -> None:
    core = [doc for doc in docs if doc["kind"] != "ScaledObject"]
    assert {doc["kind"] for doc in core} == {"Namespace", "ConfigMap", "Deployment", "Service"}
    for doc in core:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_scaled_objects_are_valid_keda(docs: list[dict]) -> None:
    validator = keda_validator()
    scaled = [doc for doc in docs if doc["kind"] == "ScaledObject"]
    assert len(scaled) == len(STAGES)
    for doc in scaled:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors


def test_the_validators_catch_broken_manifests(docs: list[dict]) -> None:
    deployment = copy.deepcopy(by_kind(docs, "Deployment")["emoticon-gateway"])
    container(deployment)["readinessProbe"]["httpGet"]["path"] = 8000  # a number where a string belongs
    container(deployment)["resource"] = {}  # a misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)

    validator = keda_validator()
    scaled = copy.deepcopy(by_kind(docs, "ScaledObject")["emoticon-detector"])
    scaled["spec"]["triggers"][0]["metadata"]["listLength"] = 4  # KEDA wants strings
    del scaled["spec"]["scaleTargetRef"]
    scaled["spec"]["triggers"].append({"type": "redis", "metadata": {"address": "redis:6379"}})  # no listName
    assert len(list(validator.iter_errors(scaled))) >= 3


def test_gateway_runs_the_compose_command_with_probes_on_healthz_and_readyz(docs: list[dict]) -> None:
    deployment = by_kind(docs, "Deployment")["emoticon-gateway"]
    gateway = container(deployment)
    compose = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert gateway["command"] == compose["gateway"]["command"]
    args = build_parser().parse_args(gateway["command"][1:])
    assert (args.command, args.distributed) == ("serve", True)
    (port,) = gateway["ports"]
    assert port["containerPort"] == Settings().port
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    service = by_kind(docs, "Service")["emoticon-gateway"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_one_deployment_per_stage_running_its_worker(docs: list[dict]) -> None:
    deployments = by_kind(docs, "Deployment")
    hard_limit = Settings().task_hard_time_limit_s
    for stage in STAGES:
        deployment = deployments[f"emoticon-{stage}"]
        worker = container(deployment)
        args = build_parser().parse_args(worker["command"][1:])
        assert (args.command, args.stage) == ("worker", stage)
        assert worker["livenessProbe"]["exec"]["command"] == [
            "python",
            "-m",
            "services.worker",
            "healthcheck",
            stage,
        ]
        # scaled down, a pod gets SIGTERM and must be allowed to finish its running task
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > hard_limit


def test_every_container_requests_resources_and_reads_the_settings(docs: list[dict]) -> None:
    settings_names = {f"EMOTICON_{name.upper()}" for name in Settings.model_fields}
    config = by_kind(docs, "ConfigMap")["emoticon"]["data"]
    assert set(config) <= settings_names
    for name, deployment in by_kind(docs, "Deployment").items():
        spec = container(deployment)
        assert {"cpu", "memory"} <= set(spec["resources"]["requests"]), name
        assert "memory" in spec["resources"]["limits"], name
        if name.startswith("emoticon-"):
            sources = [s.get("configMapRef", {}).get("name") for s in spec["envFrom"]]
            assert "emoticon" in sources, name


def test_each_stage_scales_on_the_redis_lists_its_workers_consume(docs: list[dict]) -> None:
    config = by_kind(docs, "ConfigMap")["emoticon"]["data"]
    settings = Settings(key_prefix=config["EMOTICON_KEY_PREFIX"], redis_url=config["EMOTICON_REDIS_URL"])
    redis_url = urlsplit(settings.redis_url)
    redis_service = by_kind(docs, "Service")[redis_url.hostname]
    namespace = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["namespace"]
    address = (
        f"{redis_url.hostname}.{namespace}.svc.cluster.local:{redis_service['spec']['ports'][0]['port']}"
    )
    assert redis_url.port == redis_service["spec"]["ports"][0]["port"]
    deployments = by_kind(docs, "Deployment")
    scaled = {doc["spec"]["scaleTargetRef"]["name"]: doc for doc in docs if doc["kind"] == "ScaledObject"}
    assert set(scaled) == {f"emoticon-{stage}" for stage in STAGES} and set(scaled) <= set(deployments)
    for stage in STAGES:
        spec = scaled[f"emoticon-{stage}"]["spec"]
        assert spec["minReplicaCount"] >= 1  # /readyz needs a worker per stage
        triggers = spec["triggers"]
        assert {t["type"] for t in triggers} == {"redis"}
        lists = {t["metadata"]["listName"] for t in triggers}
        assert lists == {f"{broker_key_prefix(settings)}{queue}" for queue in worker_queues(stage)}
        assert queue_key(settings, stage) in lists
        for trigger in triggers:
            assert trigger["metadata"]["address"] == address
            assert trigger["metadata"]["databaseIndex"] == redis_url.path.strip("/")
