"""The log pages without a browser: the Pod limit of a workload view, a cluster that refuses ``pods/log``,
download as text, and the permission. Against democluster, with the mirror synced from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from django.contrib.auth.models import Group, Permission
from django.test import Client

from tests.support.clusters import cluster_row
from tests.support.stack import Democluster, wait_for
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


@pytest.fixture(scope="module")
def democluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Democluster]:
    dc = Democluster(tmp_path_factory.mktemp("logs-pages"), "--fresh", "--no-scenario", "--token", "nolog-token:pods")
    dc.start()
    dc.kubectl("apply", "-f", "-", input=MANY)

    def all_running() -> bool:
        pods = dc.get_json("pods", "-n", "many")["items"]
        return len(pods) == 56 and all(p.get("status", {}).get("phase") == "Running" for p in pods)

    wait_for(all_running, timeout=60, what="56 Pods running")
    yield dc
    dc.stop()


@pytest.fixture
def cluster(democluster: Democluster) -> Cluster:
    cluster = cluster_row(democluster)
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
    democluster: Democluster, viewer_client: Client, tmp_path: object
) -> None:
    config = yaml.safe_load(democluster.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "nolog-token"
    kubeconfig = tmp_path / "nolog.kubeconfig"  # type: ignore[operator]
    kubeconfig.write_text(yaml.safe_dump(config))
    cluster = Cluster.objects.create(
        name="nolog", connection=Cluster.Connection.DEMOCLUSTER, kubeconfig_path=str(kubeconfig)
    )
    sync_once(cluster, ["Pod"])
    assert Pod.objects.filter(cluster=cluster, name="hello").exists()
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
