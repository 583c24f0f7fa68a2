"""Shared pieces of the sync tests (their fixtures ``target``, ``cluster`` and ``start_worker`` are in
tests/conftest.py): the shop manifest, the mirror check, and a clean Redis."""

from __future__ import annotations

import json

import redis
from django.conf import settings
from django.db import connection

from tests.support.clusters import TargetCluster
from tests.support.stack import wait_for
from workloads.models import Cluster, Event, Namespace, Node, Pod, RelatedObject, TemplateRevision, Workload

# kubectl resource name -> (model, extra filter)
MIRRORED = {
    "namespaces": (Namespace, {}),
    "nodes": (Node, {}),
    "deployments": (Workload, {"kind": "Deployment"}),
    "replicasets": (Workload, {"kind": "ReplicaSet"}),
    "statefulsets": (Workload, {"kind": "StatefulSet"}),
    "daemonsets": (Workload, {"kind": "DaemonSet"}),
    "jobs": (Workload, {"kind": "Job"}),
    "cronjobs": (Workload, {"kind": "CronJob"}),
    "controllerrevisions": (TemplateRevision, {"source_kind": "ControllerRevision"}),
    "pods": (Pod, {}),
    "events": (Event, {}),
    "services": (RelatedObject, {"kind": "Service"}),
    "endpointslices": (RelatedObject, {"kind": "EndpointSlice"}),
    "configmaps": (RelatedObject, {"kind": "ConfigMap"}),
    "secrets": (RelatedObject, {"kind": "Secret"}),
    "persistentvolumeclaims": (RelatedObject, {"kind": "PersistentVolumeClaim"}),
    "horizontalpodautoscalers": (RelatedObject, {"kind": "HorizontalPodAutoscaler"}),
    "poddisruptionbudgets": (RelatedObject, {"kind": "PodDisruptionBudget"}),
}

APP = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:16"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "fluent/fluent-bit:3.0"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: shop}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: "busybox:1.36", command: ["sh", "-c", "echo done"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: "busybox:1.36", command: ["sh", "-c", "date"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: nginx, namespace: shop}
spec:
  containers: [{name: nginx, image: "nginx:1.14.2", ports: [{containerPort: 80}]}]
"""


def cluster_state(dc: TargetCluster) -> dict[str, set[tuple[str, str]]]:
    state = {}
    for resource in MIRRORED:
        items = dc.get_json(resource, "-A")["items"]
        state[resource] = {(i["metadata"]["uid"], i["metadata"]["resourceVersion"]) for i in items}
    return state


def mirror_state(cluster: Cluster) -> dict[str, set[tuple[str, str]]]:
    state = {}
    for resource, (model, extra) in MIRRORED.items():
        rows = model.objects.filter(cluster=cluster, deleted_at__isnull=True, **extra)
        state[resource] = {(uid, str(rv)) for uid, rv in rows.values_list("uid", "resource_version")}
    return state


def mirror_equals_cluster(dc: TargetCluster, cluster: Cluster) -> bool:
    """True when, for every kind, the (uid, resourceVersion) pairs match exactly, twice in a row
    around the read of the cluster (so a change in flight does not pass by luck)."""
    before = mirror_state(cluster)
    live = cluster_state(dc)
    after = mirror_state(cluster)
    if before != after or after != live:
        diff = {k: (len(live[k] - after[k]), len(after[k] - live[k])) for k in live if live[k] != after[k]}
        raise AssertionError(f"mirror differs (missing, extra) per kind: {diff}")
    return True


def assert_no_duplicate_rows(cluster: Cluster) -> None:
    for resource, (model, extra) in MIRRORED.items():
        rows = list(
            model.objects.filter(cluster=cluster, deleted_at__isnull=True, **extra).values_list("namespace", "name")
        )
        assert len(rows) == len(set(rows)), f"duplicate live {resource} rows"


def assert_pods_linked(cluster: Cluster) -> None:
    """Every Pod points at its top workload: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob."""
    parents = dict(
        Workload.objects.filter(cluster=cluster, kind__in=["ReplicaSet", "Job"])
        .exclude(owner_uid="")
        .values_list("uid", "owner_uid")
    )
    for name, owner, workload in Pod.objects.filter(cluster=cluster, deleted_at__isnull=True).values_list(
        "name", "owner_uid", "workload_uid"
    ):
        assert workload == parents.get(owner, owner), f"Pod {name} is linked to {workload!r}"


def settle(dc: TargetCluster) -> None:
    """Wait until the workloads in APP are done rolling out, so the cluster stops changing."""
    dc.kubectl("rollout", "status", "-n", "shop", "deploy/web", "--timeout=60s", timeout=90)
    dc.kubectl("rollout", "status", "-n", "shop", "sts/db", "--timeout=60s", timeout=90)
    dc.kubectl("rollout", "status", "-n", "shop", "ds/agent", "--timeout=60s", timeout=90)
    wait_for(
        lambda: dc.get_json("job/once", "-n", "shop").get("status", {}).get("succeeded") == 1,
        timeout=60,
        what="job once to complete",
    )


def clean_redis() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter("podium:*"))
    if keys:
        client.delete(*keys)
    for queue in ("sync", "celery"):
        client.delete(queue)


def everything_stored() -> str:
    """Every row of every table in the database (Django's own too: sessions, users), as text: where a value that
    must never be stored is searched for."""
    dumped = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dumped.append(f"{table}: " + json.dumps(cursor.fetchall(), default=str))
    return "\n".join(dumped)
