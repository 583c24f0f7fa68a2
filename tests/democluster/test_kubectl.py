"""The real kubectl 1.32 against democluster: get, watch, apply (client- and server-side), dry runs, delete."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from tests.democluster.helpers import Democluster, LineReader, deployment_manifest, pod_manifest, unique
from tests.support.stack import wait_for

KINDS = [
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "events",
    "nodes",
    "namespaces",
    "services",
    "configmaps",
    "controllerrevisions",
]


@pytest.fixture
def namespace(democluster: Democluster) -> Iterator[str]:
    name = unique("kubectl")
    # kubectl's create generators send protobuf, which democluster does not speak: create from a manifest.
    democluster.kubectl(
        "create", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    )
    yield name


def _apply(democluster: Democluster, manifest: dict, *args: str) -> str:
    return democluster.kubectl("apply", "-f", "-", *args, input=yaml.safe_dump(manifest)).stdout


def _get_json(democluster: Democluster, *args: str) -> dict:
    return json.loads(democluster.kubectl("get", *args, "-o", "json").stdout)


def test_it_gets_every_kind_in_every_namespace(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, pod_manifest("listed"), "-n", namespace)
    for kind in KINDS:
        result = democluster.kubectl("get", kind, "-A")
        assert "error" not in result.stderr.lower(), result.stderr
    wide = democluster.kubectl("get", "pods", "-n", namespace, "-o", "wide").stdout
    header = wide.splitlines()[0].split()
    assert header[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "NOMINATED" in header and "NODE" in header
    assert "listed" in wide


def test_it_prints_deployment_columns_and_selects_by_label(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("front", images=("nginx:1.25", "busybox:1.36")), "-n", namespace)
    _apply(democluster, deployment_manifest("back"), "-n", namespace)

    table = democluster.kubectl("get", "deploy", "-n", namespace, "-o", "wide", "-l", "app=front").stdout
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert len(lines) == 2
    assert lines[1].split()[0] == "front"
    assert "nginx:1.25,busybox:1.36" in lines[1]
    assert "app=front" in lines[1]

    as_yaml = yaml.safe_load(democluster.kubectl("get", "deploy", "back", "-n", namespace, "-o", "yaml").stdout)
    assert as_yaml["kind"] == "Deployment"
    assert as_yaml["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"


def test_it_shows_a_change_to_get_watch(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, pod_manifest("watched"), "-n", namespace)
    reader = LineReader(democluster.kubectl_popen("get", "pods", "-n", namespace, "-w"))
    try:
        reader.next_line_with("watched")
        _apply(democluster, pod_manifest("arrived"), "-n", namespace)
        line = reader.next_line_with("arrived")
        assert len(line.split()) >= 5  # NAME READY STATUS RESTARTS AGE: a table row, not NAME/AGE only
    finally:
        reader.stop()


def test_it_applies_a_pod_then_updates_its_image(democluster: Democluster, namespace: str) -> None:
    assert "pod/web created" in _apply(democluster, pod_manifest("web", image="nginx:1.25"), "-n", namespace)
    assert "pod/web configured" in _apply(democluster, pod_manifest("web", image="nginx:1.26"), "-n", namespace)
    pod = _get_json(democluster, "pod", "web", "-n", namespace)
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"

    changed = pod_manifest("web", image="nginx:1.26")
    changed["spec"]["containers"][0]["command"] = ["sleep", "1"]
    refused = democluster.kubectl("apply", "-f", "-", "-n", namespace, input=yaml.safe_dump(changed), check=False)
    assert refused.returncode != 0
    assert "pod updates may not change fields other than" in refused.stderr


def test_it_applies_a_deployment_update_as_a_strategic_merge(democluster: Democluster, namespace: str) -> None:
    manifest = deployment_manifest("web", replicas=2, images=("nginx:1.25", "busybox:1.36"))
    assert "deployment.apps/web created" in _apply(democluster, manifest, "-n", namespace)
    manifest["spec"]["replicas"] = 3
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert "deployment.apps/web configured" in _apply(democluster, manifest, "-n", namespace)

    deployment = _get_json(democluster, "deployment", "web", "-n", namespace)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("c0", "nginx:1.26"), ("c1", "busybox:1.36")]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["metadata"]["generation"] == 2


def test_it_applies_server_side(democluster: Democluster, namespace: str) -> None:
    manifest = deployment_manifest("ssa", images=("nginx:1.25", "busybox:1.36"))
    assert "serverside-applied" in _apply(democluster, manifest, "-n", namespace, "--server-side")
    manifest["spec"]["template"]["spec"]["containers"].pop()
    _apply(democluster, manifest, "-n", namespace, "--server-side")

    deployment = _get_json(democluster, "deployment", "ssa", "-n", namespace, "--show-managed-fields")
    assert [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["c0"]
    assert any(entry["manager"] == "kubectl" for entry in deployment["metadata"]["managedFields"])


def test_a_server_dry_run_changes_nothing(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("web"), "-n", namespace)
    before = _get_json(democluster, "deployment", "web", "-n", namespace)

    changed = deployment_manifest("web", replicas=7)
    assert "(server dry run)" in _apply(democluster, changed, "-n", namespace, "--dry-run=server")
    _apply(democluster, deployment_manifest("ghost"), "-n", namespace, "--dry-run=server")
    democluster.kubectl("delete", "deployment", "web", "-n", namespace, "--dry-run=server")

    after = _get_json(democluster, "deployment", "web", "-n", namespace)
    assert after["spec"]["replicas"] == 1
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    names = democluster.kubectl("get", "deployments", "-n", namespace, "-o", "name").stdout.split()
    assert names == ["deployment.apps/web"]


def test_it_deletes(democluster: Democluster, namespace: str) -> None:
    _apply(democluster, deployment_manifest("doomed"), "-n", namespace)
    _apply(
        democluster,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}},
        "-n",
        namespace,
    )

    assert "deleted" in democluster.kubectl("delete", "configmap", "settings", "-n", namespace).stdout
    assert "deleted" in democluster.kubectl("delete", "deployment", "doomed", "-n", namespace, timeout=60).stdout

    missing = democluster.kubectl("get", "deployment", "doomed", "-n", namespace, check=False)
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr
    wait_for(
        lambda: democluster.kubectl("get", "configmaps", "-n", namespace, "-o", "name").stdout.strip() == "",
        timeout=10,
        what="the configmap to be gone",
    )


def test_it_refuses_a_wrong_token(democluster: Democluster) -> None:
    result = democluster.kubectl("get", "pods", "--token", "not-the-token", check=False)
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr or "provide credentials" in result.stderr


def test_a_limited_token_is_forbidden_other_resources(democluster: Democluster) -> None:
    allowed = democluster.kubectl("get", "pods", "--token", "limited-token")
    assert allowed.returncode == 0
    result = democluster.kubectl("get", "configmaps", "--token", "limited-token", check=False)
    assert result.returncode != 0
    assert (
        'configmaps is forbidden: User "system:serviceaccount:democluster:user-1" cannot list resource' in result.stderr
    )
