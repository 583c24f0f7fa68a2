""" "Restart the workloads that use it" as the signed-in person, on a cluster that acts as them (both flavors; see
tests/support/impersonation.py: alice may patch Deployments in imp-shop but not StatefulSets, and sees nothing of
imp-demo): the page and the preview say per workload what the cluster refuses her, the restart applies what it
allows, each recorded as her; a ConfigMap in a namespace she may not see is not found."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.impersonation import HIDDEN, SHOP, Target
from workloads.models import ChangeRecord, Cluster
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

READERS = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: dev-config, namespace: {SHOP}}}
rules: [{{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dev-config, namespace: {SHOP}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev-config}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: shared, namespace: {SHOP}}}
data: {{MODE: prod}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: hidden-config, namespace: {HIDDEN}}}
data: {{MODE: prod}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: reader-web, namespace: {SHOP}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: reader-web}}}}
  template:
    metadata: {{labels: {{app: reader-web}}}}
    spec: {{containers: [{{name: app, image: "nginx:1.27", envFrom: [{{configMapRef: {{name: shared}}}}]}}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: reader-db, namespace: {SHOP}}}
spec:
  replicas: 1
  serviceName: reader-db
  selector: {{matchLabels: {{app: reader-db}}}}
  template:
    metadata: {{labels: {{app: reader-db}}}}
    spec: {{containers: [{{name: db, image: "postgres:16", envFrom: [{{configMapRef: {{name: shared}}}}]}}]}}
"""
DENIED = f"alice (groups: dev, editor) may not patch statefulsets in {SHOP}"


def test_the_cluster_decides_per_workload(imp_target: Target, imp_cluster: Cluster, alice: Client) -> None:
    imp_target.cluster.kubectl("apply", "-f", "-", input=READERS)
    sync_once(imp_cluster, ["ConfigMap", "Deployment", "StatefulSet"])
    page = f"/c/demo/ns/{SHOP}/configmap/shared/"

    html = alice.get(page).content.decode()
    assert DENIED in html  # beside reader-db, before anything is sent
    assert alice.get(f"/c/demo/ns/{HIDDEN}/configmap/hidden-config/").status_code == 404

    preview = alice.post(f"{page}restart/")
    assert preview.status_code == 200
    plans = {p.reader.workload.name: p for p in preview.context["plans"]}
    assert plans["reader-web"].change is not None
    assert plans["reader-db"].change is None
    assert DENIED in plans["reader-db"].problem
    assert DENIED in preview.content.decode()

    done = alice.post(f"{page}restart/", {"payload": preview.context["payload"]}, follow=True)
    said = [str(m) for m in done.context["messages"]]
    assert said == ["Deployment reader-web: restarted, its Pods are being replaced."]
    web = imp_target.cluster.get_json("deployment", "reader-web", "-n", SHOP)
    assert "kubectl.kubernetes.io/restartedAt" in web["spec"]["template"]["metadata"]["annotations"]
    db = imp_target.cluster.get_json("statefulset", "reader-db", "-n", SHOP)
    assert "annotations" not in (db["spec"]["template"].get("metadata") or {})
    records = ChangeRecord.objects.filter(action="restart").order_by("created_at")
    assert sorted((r.name, r.outcome, r.acted_as) for r in records) == [
        ("reader-db", ChangeRecord.Outcome.REFUSED, "alice (groups: dev, editor)"),
        ("reader-web", ChangeRecord.Outcome.APPLIED, "alice (groups: dev, editor)"),
        ("reader-web", ChangeRecord.Outcome.PREVIEWED, "alice (groups: dev, editor)"),
    ]
