"""deploy/kubernetes/10-rbac.yaml (the chart's ServiceAccount and ClusterRole, rendered) in a real API
server: Podium running as its ServiceAccount, with only the shipped ClusterRole, mirrors every kind and
changes workloads through its pages without a single 403, and every request it sends is one the access
table (workloads/kinds.py) names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from realcluster.cluster import RealCluster
from tests.support.democlusters import DEPLOY
from tests.support.stack import wait_for
from workloads import kube
from workloads.models import ChangeRecord, Cluster, Workload
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

SERVICE_ACCOUNT = "system:serviceaccount:podium:podium"
APP = """
apiVersion: v1
kind: Namespace
metadata: {name: rbac-check}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: rbac-check}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: rbac-check}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
"""


def audited(cluster: RealCluster) -> list[dict]:
    lines = (cluster.directory / "audit.log").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["user"]["username"] == SERVICE_ACCOUNT]


def test_podium_as_its_service_account_needs_nothing_the_cluster_role_does_not_grant(
    real_kubernetes: RealCluster, editor_client: Client, tmp_path: Path
) -> None:
    for name in ("00-namespace.yaml", "10-rbac.yaml"):
        real_kubernetes.kubectl("apply", "-f", str(DEPLOY / "kubernetes" / name))
    real_kubernetes.kubectl("apply", "-f", "-", input=APP)
    real_kubernetes.kubectl("rollout", "status", "-n", "rbac-check", "deploy/web", "--timeout=60s")
    real_kubernetes.kubectl("rollout", "status", "-n", "rbac-check", "sts/db", "--timeout=60s")
    try:
        token = real_kubernetes.kubectl("create", "token", "podium", "-n", "podium").stdout.strip()
        kubeconfig = real_kubernetes.token_kubeconfig(token, tmp_path / "podium-sa.kubeconfig")
        cluster = Cluster.objects.create(
            name="demo",
            connection=Cluster.Connection.KUBECONFIG,
            kubeconfig_path=str(kubeconfig),
            context="realcluster",
            impersonate=False,  # Podium as its ServiceAccount alone
        )
        sync_once(cluster)
        cluster.refresh_from_db()
        assert (cluster.status, cluster.status_message) == ("connected", "")

        replicaset = Workload.objects.get(cluster=cluster, kind="ReplicaSet", namespace="rbac-check")
        base = "/c/demo/ns/rbac-check"
        for kind, name, replicas in (("deployment", "web", "3"), ("statefulset", "db", "2")):
            editor_client.post(f"{base}/{kind}/{name}/actions/scale/", {"replicas": replicas})
        for action in ("pause", "resume"):
            editor_client.post(f"{base}/deployment/web/actions/{action}/")
        # Scale a ReplicaSet through its own page (its Deployment takes it back, as in a cluster).
        editor_client.post(f"{base}/replicaset/{replicaset.name}/actions/scale/", {"replicas": "1"})
        sync_once(cluster)
        pod = json.loads(
            real_kubernetes.kubectl("get", "pods", "-n", "rbac-check", "-l", "app=db", "-o", "json").stdout
        )
        # Read a Pod's log (kwok serves what the file says), then delete that Pod.
        db_pod = pod["items"][0]["metadata"]["name"]
        real_kubernetes.container_log("rbac-check", db_pod, pod["items"][0]["spec"]["containers"][0]["name"], ["up"])
        read = editor_client.get(f"{base}/pods/{db_pod}/logs/")
        assert read.status_code == 200 and b'<span class="">up</span>' in read.content
        editor_client.post(f"{base}/pods/{db_pod}/delete/", {"confirm": "yes"})

        outcomes = list(ChangeRecord.objects.values_list("action", "name", "outcome").order_by("created_at"))
        assert [o for o in outcomes if o[2] != ChangeRecord.Outcome.APPLIED] == []
        assert [a for a, _, _ in outcomes] == ["scale", "scale", "pause", "resume", "scale", "delete-pod"]

        wait_for(lambda: any(e["verb"] == "delete" for e in audited(real_kubernetes)), timeout=10, what="the audit")
        events = audited(real_kubernetes)
        refused = [(e["verb"], e["requestURI"]) for e in events if e.get("responseStatus", {}).get("code") == 403]
        assert not refused
        sent = {
            (
                e["objectRef"].get("apiGroup", ""),
                e["objectRef"]["resource"]
                + (f"/{e['objectRef']['subresource']}" if "subresource" in e["objectRef"] else ""),
                e["verb"],
            )
            for e in events
            if "objectRef" in e
        }
        assert sent <= kube.access_rules(), sent - kube.access_rules()
        assert ("apps", "replicasets/scale", "patch") in sent
        assert ("", "pods/log", "get") in sent
    finally:
        real_kubernetes.kubectl("delete", "namespace", "rbac-check", "--wait=false")
        for name in ("10-rbac.yaml", "00-namespace.yaml"):
            real_kubernetes.kubectl("delete", "-f", str(DEPLOY / "kubernetes" / name), "--wait=false")
