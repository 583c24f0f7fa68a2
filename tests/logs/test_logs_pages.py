"""The log pages without a browser: the Pod limit of a workload view, a cluster that refuses ``pods/log``,
download as text, and the permission. Against democluster and the real control plane (kube-apiserver, with
kwok serving the containers' logs from files the test writes), with the mirror synced from each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from django.contrib.auth.models import Group, Permission
from django.test import Client

from tests.support.clusters import FLAVORS, Kubernetes, TargetCluster, cluster_row, started
from tests.support.stack import wait_for
from workloads.models import Cluster, Pod
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

MANY = """
apiVersion: v1
kind: Namespace
metadata: {name: many}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: many, namespace: many}
spec:
  replicas: 55
  selector: {matchLabels: {app: many}}
  template:
    metadata: {labels: {app: many}}
    spec:
      containers: [{name: app, image: "registry.example/app:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: many}
spec:
  containers: [{name: app, image: "busybox:1.28", command: ["sh", "-c", "echo one; echo two && sleep 3600"]}]
"""


NO_LOGS_ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: podium-limited, namespace: many}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: podium-limited, namespace: many}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: podium-limited}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: podium-limited}]
"""


@pytest.fixture(scope="module", params=FLAVORS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCluster]:
    """democluster (a token "nolog-token" that may read Pods but not their logs), then the real control plane
    (user podium-limited, bound to the same in namespace many); each with the Deployment and Pod above."""
    folder = tmp_path_factory.mktemp("logs-pages")
    args = ("--token", "nolog-token:pods")
    with started(request, folder, namespaces=("many",), manifest=MANY, args=args) as target:
        all_running_with_logs(target)
        yield target


def all_running_with_logs(target: TargetCluster) -> None:
    def all_running() -> bool:
        pods = target.get_json("pods", "-n", "many")["items"]
        return len(pods) == 56 and all(p.get("status", {}).get("phase") == "Running" for p in pods)

    wait_for(all_running, timeout=120, what="56 Pods running")
    if isinstance(target, Kubernetes):
        # kwok runs nothing: what each container "printed" is a file it serves.
        target.kubectl("apply", "-f", "-", input=NO_LOGS_ROLE)
        target.cluster.container_log("many", "hello", "app", ["one", "two"])
        for pod in target.get_json("pods", "-n", "many", "-l", "app=many")["items"]:
            name = pod["metadata"]["name"]
            target.cluster.container_log("many", name, "app", [f"starting {name}", "listening on :8080"])


def no_logs_kubeconfig(target: TargetCluster, path: object) -> object:
    """A kubeconfig for the same cluster as someone who may read Pods but not their logs."""
    if isinstance(target, Kubernetes):
        return target.cluster.token_kubeconfig("podium-limited-token", path)
    config = yaml.safe_load(target.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "nolog-token"
    path.write_text(yaml.safe_dump(config))  # type: ignore[attr-defined]
    return path


@pytest.fixture
def cluster(target: TargetCluster) -> Cluster:
    cluster = cluster_row(target)
    sync_once(cluster, ["Namespace", "Deployment", "ReplicaSet", "Pod"])
    return cluster


def test_a_workload_view_reads_at_most_50_pods_and_says_how_many_it_left_out(
    cluster: Cluster, viewer_client: Client
) -> None:
    response = viewer_client.get(f"/c/{cluster.name}/ns/many/deployment/many/logs/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "5 more Pods are left out: a log view reads at most 50 Pods at once." in text
    assert text.count('class="chip pc-') == 50
    assert "Lines of 50 Pods, merged in time order." in text
    assert text.count('class="log-src"') >= 100  # every Pod's start-up lines, each marked with its Pod


def test_it_downloads_a_log_as_text(cluster: Cluster, viewer_client: Client) -> None:
    response = viewer_client.get(f"/c/{cluster.name}/ns/many/pods/hello/logs/?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="hello-app.log"'
    assert response.content == b"one\ntwo\n"
    stamped = viewer_client.get(f"/c/{cluster.name}/ns/many/pods/hello/logs/?download=1&timestamps=on")
    assert all(line.split(" ", 1)[0].endswith("Z") for line in stamped.content.decode().splitlines())


def test_it_says_when_the_cluster_refuses_podium_the_pods_log(
    target: TargetCluster, viewer_client: Client, tmp_path: object
) -> None:
    kubeconfig = no_logs_kubeconfig(target, tmp_path / "nolog.kubeconfig")  # type: ignore[operator]
    connection = Cluster.Connection.DEMOCLUSTER if target.flavor == "democluster" else Cluster.Connection.KUBECONFIG
    cluster = Cluster.objects.create(
        name="nolog", connection=connection, kubeconfig_path=str(kubeconfig), impersonate=False
    )
    # Its mirror holds the Pod (as Podium's own sync identity would have listed it); only the read is refused.
    source = cluster_row(target, "synced")
    sync_once(source, ["Pod"])
    hello = Pod.objects.get(cluster=source, namespace="many", name="hello")
    hello.pk, hello.cluster = None, cluster
    hello.save()
    response = viewer_client.get("/c/nolog/ns/many/pods/hello/logs/")
    assert response.status_code == 200
    assert (
        "The cluster refuses Podium reading this Pod&#x27;s log (pods/log is forbidden for Podium&#x27;s "
        "credentials)" in response.content.decode()
    )


def test_without_the_permission_both_pages_say_so(cluster: Cluster, viewer_client: Client) -> None:
    Group.objects.get(name="viewer").permissions.remove(Permission.objects.get(codename="view_logs"))
    for url in (f"/c/{cluster.name}/ns/many/pods/hello/logs/", f"/c/{cluster.name}/ns/many/deployment/many/logs/"):
        response = viewer_client.get(url)
        assert response.status_code == 403
        assert "Reading logs is a permission of its own" in response.content.decode()
    page = viewer_client.get(f"/c/{cluster.name}/ns/many/pods/hello/")
    assert b"/logs/" not in page.content
