"""The Kubernetes manifests of deploy/kubernetes/ (docs/operations.md §1): valid against the
schemas of a pinned Kubernetes version (kubernetes-validate bundles them: no network), coherent
with each other and with the Dockerfile, and their ConfigMap's TOML loads with the service
(`better-auth-rs check-config`, the binary being $BETTER_AUTH_BIN or target/debug)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
BINARY = Path(os.environ.get("BETTER_AUTH_BIN") or ROOT / "target" / "debug" / "better-auth-rs")
# The oldest version still supported by the cloud providers when this was written; the schemas
# ship with kubernetes-validate (tests/requirements.txt pins it).
KUBERNETES_VERSION = "1.33.0"


def documents() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def by_kind(kind: str) -> dict:
    found = [d for _, d in documents() if d["kind"] == kind]
    assert len(found) == 1, f"one {kind}"
    return found[0]


def test_every_manifest_is_valid_against_the_pinned_kubernetes_schemas():
    docs = documents()
    assert {d["kind"] for _, d in docs} >= {
        "Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget",
    }
    for name, doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validation_would_catch_a_mistake():
    deployment = copy.deepcopy(by_kind("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pth"] = "/ready"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(by_kind("Deployment"))
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def container(name: str = "better-auth") -> dict:
    spec = by_kind("Deployment")["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == name)


def test_the_deployment_runs_three_hardened_replicas_with_probes_and_migrations():
    deployment = by_kind("Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["automountServiceAccountToken"] is False
    for c in pod["containers"] + pod["initContainers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert c["resources"]["requests"]["memory"] and c["resources"]["limits"]["memory"]

    main = container()
    assert main["args"] == ["serve"]
    # One hashing thread per usable core: a CPU limit bounds the memory the hashes take.
    assert main["resources"]["limits"]["cpu"]
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert main["readinessProbe"]["httpGet"]["path"] == "/ready"
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    env = {e["name"]: e["value"] for e in main["env"]}
    assert int(env["PORT"]) == ports["http"]
    assert env["HOST"] == "0.0.0.0"
    assert env["LOG_FORMAT"] == "json"
    assert env["BETTER_AUTH_ENV"] == "production"
    assert env["BETTER_AUTH_AUTO_MIGRATE"] == "false", "the init container migrates"
    assert container("migrate")["args"] == ["migrate"]

    secret = by_kind("Secret")
    for c in (main, container("migrate")):
        assert {"secretRef": {"name": secret["metadata"]["name"]}} in c["envFrom"]
    assert set(secret["stringData"]) == {"BETTER_AUTH_SECRET", "DATABASE_URL", "REDIS_URL"}

    # The metrics port of the TOML is the container's `metrics` port, and the shutdown fits
    # in the pod's termination grace period.
    toml = tomllib.loads(by_kind("ConfigMap")["data"]["better-auth.toml"])
    assert toml["metrics"]["port"] == ports["metrics"]
    annotations = spec["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    shutdown = toml["shutdown"]
    assert shutdown["drain_delay"] + shutdown["grace_period"] < pod["terminationGracePeriodSeconds"]
    # The readiness probe notices SIGTERM within the drain delay.
    probe = main["readinessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] < shutdown["drain_delay"]


def test_the_service_and_the_budget_select_the_pods_and_expose_only_the_api():
    pod_labels = by_kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = by_kind("Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    pdb = by_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1


def test_the_configmap_toml_loads_with_the_service():
    config = MANIFESTS / ".." / ".." / "target" / "configmap-better-auth.toml"
    config = config.resolve()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(by_kind("ConfigMap")["data"]["better-auth.toml"])
    main = container()
    env = {e["name"]: e["value"] for e in main["env"]}
    env["BETTER_AUTH_CONFIG"] = str(config)
    env.update({k: v for k, v in by_kind("Secret")["stringData"].items()})
    env["BETTER_AUTH_SECRET"] = "k8s-test-secret-0123456789abcdefghijklmnop"
    env["PATH"] = "/usr/bin:/bin"
    out = subprocess.run(
        [str(BINARY), "check-config", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)
    assert loaded["ok"] is True
    assert loaded["environment"] == "production"
    assert loaded["database"] == "postgres"
    assert loaded["redis"] is True and loaded["metrics"] is True and loaded["rateLimit"] is True
    assert loaded["warnings"] == []
    # A typo in the TOML is refused, one line naming it.
    config.write_text(config.read_text().replace("[shutdown]", "[shutdwn]"))
    out = subprocess.run(
        [str(BINARY), "check-config"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "shutdwn" in out.stderr
    config.unlink()


def test_the_dockerfile_runs_the_binary_as_the_manifests_and_tests_expect():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER nonroot$", dockerfile, re.M), "distroless nonroot = uid 65532"
    assert "gcr.io/distroless/cc-debian12:nonroot" in dockerfile
    env = " ".join(re.findall(r"^ENV (.+(?:\\\n.+)*)", dockerfile, re.M))
    for setting in ("HOST=0.0.0.0", "LOG_FORMAT=json", "BETTER_AUTH_ENV=production"):
        assert setting in env, setting
    assert 'HEALTHCHECK' in dockerfile and '"healthcheck"' in dockerfile
    assert re.search(r"^EXPOSE 3001 9464$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/better-auth-rs"\]$', dockerfile, re.M)
    image = container()["image"]
    assert image == container("migrate")["image"]
