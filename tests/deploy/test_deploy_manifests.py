"""deploy/: the Kubernetes manifests validate (1.32 strict schema, and a server dry run against democluster),
grant the least that Podium needs (on Secrets: list and watch only), and run the image as a non-root user."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support import stack
from tests.support.democlusters import DEPLOY, TOKEN, deploy_manifest, deploy_manifests
from workloads import kinds, kube

KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
# What democluster does not serve (yet): these are checked against the schema only.
RBAC_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}


def workload_pods() -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in deploy_manifests() if d["kind"] == "Deployment"
    }


def all_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return pod.get("initContainers", []) + pod["containers"]


def test_it_validates_every_manifest_against_the_kubernetes_1_32_strict_schema() -> None:
    documents = deploy_manifests()
    assert {d["kind"] for d in documents} == {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Service",
    }
    for document in documents:
        kubernetes_validate.validate(document, "1.32", strict=True)  # raises with the path of what is wrong


def test_it_rejects_an_unknown_field_so_the_schema_check_means_something() -> None:
    web = deploy_manifest("Deployment", "podium-web")
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pat"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError, match="'pat' was unexpected"):
        kubernetes_validate.validate(web, "1.32", strict=True)


def test_it_grants_no_more_on_secrets_than_listing_and_watching() -> None:
    """Podium lists and watches Secrets as metadata only (PartialObjectMetadata). RBAC cannot say "metadata only":
    list and watch grant the values too, so the role grants those two verbs and nothing else (no get)."""
    role = deploy_manifest("ClusterRole", "podium")
    assert "aggregationRule" not in role
    secret_rules = [rule for rule in role["rules"] if "secrets" in rule["resources"]]
    assert secret_rules == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}]
    for rule in role["rules"]:
        assert not any("*" in value for key in ("apiGroups", "resources", "verbs") for value in rule[key]), rule
        assert "nonResourceURLs" not in rule and "resourceNames" not in rule
    # Podium holds no other role, and ships no Secret with a value in it.
    bindings = [d for d in deploy_manifests() if d["kind"] in {"ClusterRoleBinding", "RoleBinding"}]
    assert [b["roleRef"]["name"] for b in bindings] == ["podium"]
    assert not [d for d in deploy_manifests() if d["kind"] in {"Secret", "Role"}]


def test_it_grants_exactly_what_podiums_pages_can_send() -> None:
    granted = {
        (group, resource, verb)
        for rule in deploy_manifest("ClusterRole", "podium")["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == kube.access_rules()


def test_every_kind_the_pages_offer_to_scale_or_apply_is_in_the_access_table() -> None:
    rules = kube.access_rules()
    # The rollout panel offers Scale for these; Apply manifest accepts these kinds.
    for name in kinds.SCALABLE_KINDS:
        assert (kube.kind_for(name).group, f"{kube.kind_for(name).plural}/scale", "patch") in rules, name
    assert ("apps", "replicasets/scale", "patch") in rules
    for name in kinds.APPLIABLE_KINDS:
        k = kube.kind_for(name)
        assert {(k.group, k.plural, "create"), (k.group, k.plural, "patch")} <= rules, name
    # Restart a Pod and recreate a Job delete them; nothing else is ever deleted.
    assert {(g, r) for g, r, verb in rules if verb == "delete"} == {("", "pods"), ("batch", "jobs")}
    assert not {(g, r, v) for g, r, v in rules if v in {"update", "deletecollection", "escalate", "bind"}}


def test_it_binds_the_role_to_the_service_account_the_pods_run_as() -> None:
    account = deploy_manifest("ServiceAccount", "podium")
    binding = deploy_manifest("ClusterRoleBinding", "podium")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "podium", "namespace": "podium"}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "podium"}
    assert account["metadata"]["namespace"] == "podium"
    assert {name: pod["serviceAccountName"] for name, pod in workload_pods().items()} == {
        "podium-web": "podium",
        "podium-worker": "podium",
        "podium-beat": "podium",
    }
    # Beat only enqueues tasks: it gets no token at all.
    assert workload_pods()["podium-beat"]["automountServiceAccountToken"] is False


def test_it_runs_every_container_as_the_images_non_root_user_on_a_read_only_root() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (image_user,) = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    for name, pod in workload_pods().items():
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert (str(security["runAsUser"]), str(security["runAsGroup"])) == image_user, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in all_containers(pod):
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, f"{name}/{container['name']}"
            # The only writable place is an emptyDir.
            assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
            assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
        assert pod["volumes"] == [{"name": "tmp", "emptyDir": pod["volumes"][0]["emptyDir"]}]


def test_it_takes_secrets_from_the_documented_secret_and_settings_from_the_config_map() -> None:
    config = deploy_manifest("ConfigMap", "podium-config")["data"]
    assert not {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} & set(config)
    assert config["DEBUG"] == "false"
    readme = (DEPLOY / "README.md").read_text()
    for name, pod in workload_pods().items():
        for container in all_containers(pod):
            assert container["envFrom"] == [{"configMapRef": {"name": "podium-config"}}]
            from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
            assert from_secret == {
                **{key: {"name": "podium-secrets", "key": key} for key in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")},
                "PODIUM_OIDC_CLIENT_SECRET": {
                    "name": "podium-secrets",
                    "key": "PODIUM_OIDC_CLIENT_SECRET",
                    "optional": True,
                },
            }, f"{name}/{container['name']}"
    assert "kubectl -n podium create secret generic podium-secrets" in readme
    for key in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert f"--from-literal={key}=" in readme


def test_it_runs_web_worker_and_beat_as_separate_deployments() -> None:
    web, worker, beat = (deploy_manifest("Deployment", f"podium-{n}") for n in ("web", "worker", "beat"))
    web_pod = web["spec"]["template"]["spec"]
    (container,) = web_pod["containers"]
    assert container["command"][:2] == ["uvicorn", "dashboard.asgi:application"]
    assert "--workers=4" in container["command"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "python manage.py migrate --no-input" in web_pod["initContainers"][0]["command"][-1]

    (worker_container,) = worker["spec"]["template"]["spec"]["containers"]
    assert worker_container["command"][:3] == ["celery", "--app=dashboard", "worker"]
    assert {"--queues=sync,celery", "--pool=threads"} <= set(worker_container["command"])

    (beat_container,) = beat["spec"]["template"]["spec"]["containers"]
    assert beat_container["command"][:3] == ["celery", "--app=dashboard", "beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}  # never two beats, even during a rollout

    service = deploy_manifest("Service", "podium-web")
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]


def test_it_builds_from_python_311_slim_with_static_files_collected() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    assert re.search(r"SECRET_KEY=\S+ .*\n\s*python manage.py collectstatic --no-input", dockerfile)
    assert dockerfile.index("collectstatic") < dockerfile.index("USER 10001")
    (command,) = re.findall(r"^CMD (\[.*?\])$", dockerfile, re.MULTILINE | re.DOTALL)
    command = json.loads(command.replace("\\\n", ""))
    assert command[:2] == ["uvicorn", "dashboard.asgi:application"]
    assert command[command.index("--workers") + 1] == "4"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".env", ".git", "var"} <= set(ignored)


# --- against democluster -----------------------------------------------------------------------


def kubectl(kubeconfig: Path, home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return stack.kubectl(kubeconfig, home / "cache", *args, input=input, check=False)


def served_kinds(kubeconfig: Path, home: Path, api_versions: set[str]) -> set[tuple[str, str]]:
    """(apiVersion, kind) pairs the server's discovery lists, for the given apiVersions."""
    served = set()
    for api_version in api_versions:
        path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        result = kubectl(kubeconfig, home, "get", "--raw", path)
        if result.returncode == 0:
            served |= {(api_version, r["kind"]) for r in json.loads(result.stdout)["resources"]}
    return served


def test_it_is_accepted_by_a_server_side_dry_run_against_democluster(
    start_democluster: Callable[..., stack.Democluster], tmp_path: Path
) -> None:
    server = start_democluster(token=TOKEN)
    kubeconfig, home = server.kubeconfig, tmp_path
    documents = deploy_manifests()
    served = served_kinds(kubeconfig, home, {d["apiVersion"] for d in documents})
    checked = [d for d in documents if (d["apiVersion"], d["kind"]) in served]
    assert checked == documents, "democluster serves every kind the manifests use, RBAC included"

    # A dry run of namespaced objects needs their namespace to exist, as on a real API server.
    created = kubectl(kubeconfig, home, "apply", "-f", str(DEPLOY / "kubernetes" / "00-namespace.yaml"))
    assert created.returncode == 0, created.stderr
    result = kubectl(kubeconfig, home, "apply", "--dry-run=server", "-f", str(DEPLOY / "kubernetes"))

    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]) == len(checked)
    assert "deployment.apps/podium-web created (server dry run)" in result.stdout
    nothing = kubectl(
        kubeconfig, home, "get", "deployments,services,configmaps,serviceaccounts", "-n", "podium", "-o", "name"
    )
    assert nothing.stdout.strip() == "", "a dry run must create nothing"

    # The server checks fields strictly, so a typo in a manifest would fail this test.
    web = next(d for d in checked if d["kind"] == "Deployment")
    web["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    typo = kubectl(kubeconfig, home, "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(web))
    assert typo.returncode != 0 and "imagePullPolcy" in typo.stderr
