"""Rollouts on each cluster, read from the mirror: a stall says its cause (an image that cannot be
pulled, a crashing container, readiness that never passes), a StatefulSet partition holds its low
ordinals back, and a DaemonSet rolls onto every node."""

from __future__ import annotations

import itertools
import json

import pytest
import yaml
from django.test import Client

from tests.support.edit import EditCluster
from tests.support.stack import wait_for
from workloads.models import Cluster, Workload
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

_names = itertools.count(1)


def panel(client: Client, cluster_row: Cluster, kind: str, name: str) -> str:
    """The rollout panel as a viewer sees it, after syncing the mirror once."""
    sync_once(cluster_row)
    w = Workload.objects.get(cluster=cluster_row, kind=kind, name=name, deleted_at__isnull=True)
    html = (
        client.get(f"/c/demo/ns/default/{kind.lower()}/{name}/rollout/", HTTP_HX_REQUEST="true")
        .content.decode()
        .strip()
    )
    assert html.startswith(f'<section id="rollout-{w.uid}"'), html[:200]
    return html


def panel_says(client: Client, cluster_row: Cluster, kind: str, name: str, *texts: str) -> str:
    def shown() -> str:
        html = panel(client, cluster_row, kind, name)
        return html if all(t in html for t in texts) else ""

    return wait_for(shown, timeout=60, interval=0.5, what=f"the panel to say {texts}")


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"image": "nginx:1.99-typo"}, "1 new Pod cannot pull image nginx:1.99-typo (ImagePullBackOff)"),
        ({"annotations": {"democluster.podium.dev/crash": "exit=3"}}, "new Pods crash: CrashLoopBackOff, exit code 3"),
        (
            {
                "annotations": {"democluster.podium.dev/never-ready": "true"},
                "probe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 2},
            },
            "readiness probe failing on 1 new Pod",
        ),
    ],
    ids=["image", "crash", "never-ready"],
)
def test_a_stalled_deployment_says_why(
    viewer_client: Client,
    deployment: str,
    edit_cluster: EditCluster,
    cluster_row: Cluster,
    change: dict,
    cause: str,
) -> None:
    container = {"name": "app"}
    if "image" in change:
        container["image"] = change["image"]
    if "probe" in change:
        container["readinessProbe"] = change["probe"]
    template: dict = {"spec": {"containers": [container]}} if len(container) > 1 else {}
    if "annotations" in change:
        template["metadata"] = {"annotations": change["annotations"]}
    edit_cluster.kubectl("patch", "deployment", deployment, "-p", json.dumps({"spec": {"template": template}}))

    html = panel_says(viewer_client, cluster_row, "Deployment", deployment, cause)
    assert 'data-state="stalled"' in html or 'data-state="progressing"' in html
    # The old Pods keep serving: maxUnavailable 25% of 2 rounds down to 0. (A crashing container is
    # ready between its crashes, so the controller may count it available and scale an old one down.)
    if "crash" not in str(change):
        assert edit_cluster.get("deployment", deployment)["status"].get("availableReplicas") == 2


def statefulset(name: str, *, partition: int) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": 3,
                "serviceName": name,
                "selector": {"matchLabels": {"app": name}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
                },
            },
        }
    )


def test_a_statefulset_partition_keeps_its_low_ordinals_on_the_old_revision(
    viewer_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    name = f"db-part-{next(_names)}"
    edit_cluster.kubectl("apply", "-f", "-", input=statefulset(name, partition=2))
    try:
        edit_cluster.kubectl("rollout", "status", f"sts/{name}", "--timeout=90s")
        edit_cluster.kubectl("set", "image", f"sts/{name}", "db=postgres:17")

        def ordinal_2_updated() -> bool:
            pod = edit_cluster.find("pod", f"{name}-2")  # deleted, then made again from the new revision
            status = edit_cluster.get("statefulset", name)["status"]
            return (
                pod is not None
                and pod["spec"]["containers"][0]["image"] == "postgres:17"
                and status.get("updatedReplicas") == 1
                and status.get("readyReplicas") == 3
            )

        wait_for(
            ordinal_2_updated,
            timeout=90,
            interval=0.5,
            what="ordinal 2 to be updated and ready",
        )
        html = panel_says(
            viewer_client,
            cluster_row,
            "StatefulSet",
            name,
            "Partition 2: ordinals 0–1 keep the old revision.",
            "Complete: 1 of 1 Pods to update run revision",
        )
        assert 'data-state="complete"' in html
        images = {edit_cluster.get("pod", f"{name}-{i}")["spec"]["containers"][0]["image"] for i in (0, 1)}
        assert images == {"postgres:16"}
    finally:
        edit_cluster.kubectl("delete", "sts", name, "--wait=false", check=False)


def test_a_daemonset_rolls_onto_every_node(
    viewer_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    name = f"agent-{next(_names)}"
    nodes = len(json.loads(edit_cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"])
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "agent", "image": "fluent/fluent-bit:3.0"}]},
            },
        },
    }
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
    try:
        edit_cluster.kubectl("rollout", "status", f"ds/{name}", "--timeout=90s")
        edit_cluster.kubectl("set", "image", f"ds/{name}", "agent=fluent/fluent-bit:3.1")
        edit_cluster.kubectl("rollout", "status", f"ds/{name}", "--timeout=120s")
        html = panel_says(viewer_client, cluster_row, "DaemonSet", name, 'data-state="complete"')
        pods = json.loads(edit_cluster.kubectl("get", "pods", "-l", f"app={name}", "-o", "json").stdout)["items"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        assert len({p["spec"]["nodeName"] for p in live}) == nodes == len(live)
        assert {p["spec"]["containers"][0]["image"] for p in live} == {"fluent/fluent-bit:3.1"}
        assert f"{nodes} of {nodes}" in html
    finally:
        edit_cluster.kubectl("delete", "ds", name, "--wait=false", check=False)
