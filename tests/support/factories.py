"""Mirror rows built from realistic Kubernetes objects, as the sync layer would write them.

Each maker builds the raw object first (what the API server returns), then the row with its indexed
columns read from that object, so tests exercise the same shape the sync layer stores.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from workloads.models import Cluster, Event, Namespace, Node, Pod, TemplateRevision, Workload
from workloads.sync import rows

_rv = [1000]


def _next_rv() -> int:
    _rv[0] += 1
    return _rv[0]


def uid() -> str:
    return str(uuid.uuid4())


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(template: dict) -> str:
    """A stable short hash of a Pod template, like the controllers' pod-template-hash."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))


def container(name: str, image: str, **extra: Any) -> dict:
    c = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}
    c.update(extra)
    return c


def pod_template(labels: dict, containers: list[dict], **spec: Any) -> dict:
    return {
        "metadata": {"labels": dict(labels)},
        "spec": {"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", **spec},
    }


def _meta(name: str, namespace: str, created: datetime, labels: dict | None = None, **extra: Any) -> dict:
    meta = {
        "name": name,
        "namespace": namespace,
        "uid": uid(),
        "resourceVersion": str(_next_rv()),
        "creationTimestamp": _iso(created),
        "labels": dict(labels or {}),
    }
    meta.update(extra)
    return meta


def _owner_ref(kind: str, name: str, owner_uid: str, api_version: str = "apps/v1") -> dict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": owner_uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def images_of(template: dict) -> str:
    return ", ".join(c.get("image", "") for c in (template.get("spec") or {}).get("containers") or [])


# --- cluster, namespaces, nodes ---------------------------------------------------------------------------------------


def make_cluster(name: str = "demo", **extra: Any) -> Cluster:
    defaults = {"status": Cluster.Status.CONNECTED, "server_version": "v1.32.0", "last_sync_at": timezone.now()}
    defaults.update(extra)
    return Cluster.objects.create(name=name, **defaults)


def make_namespace(cluster: Cluster, name: str) -> Namespace:
    raw = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "uid": uid(), "resourceVersion": str(_next_rv())},
        "status": {"phase": "Active"},
    }
    return Namespace.objects.create(
        cluster=cluster,
        uid=raw["metadata"]["uid"],
        name=name,
        resource_version=int(raw["metadata"]["resourceVersion"]),
        created_at=timezone.now() - timedelta(days=3),
        phase="Active",
        raw=raw,
    )


def make_node(cluster: Cluster, name: str = "node-1") -> Node:
    return Node.objects.create(cluster=cluster, uid=uid(), name=name, ready=True, kubelet_version="v1.32.0", raw={})


# --- workloads --------------------------------------------------------------------------------------------------------


def make_workload(cluster: Cluster, kind: str, raw: dict, **overrides: Any) -> Workload:
    """A Workload row with exactly the columns the sync layer derives from `raw`."""
    columns = rows.base_columns(raw) | rows.workload_columns(kind, raw) | overrides
    return Workload.objects.create(cluster=cluster, **columns)


def deployment_raw(
    name: str,
    namespace: str,
    template: dict,
    *,
    replicas: int = 3,
    ready: int | None = None,
    updated: int | None = None,
    total: int | None = None,
    created: datetime | None = None,
    labels: dict | None = None,
    annotations: dict | None = None,
    paused: bool = False,
    conditions: list[dict] | None = None,
) -> dict:
    created = created or timezone.now() - timedelta(days=2, hours=3)
    ready = replicas if ready is None else ready
    updated = replicas if updated is None else updated
    total = replicas if total is None else total
    raw = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(
            name, namespace, created, labels or {"app": name}, generation=2, annotations=dict(annotations or {})
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": copy.deepcopy(template),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": 2,
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": conditions
            or [
                {
                    "type": "Available",
                    "status": "True" if ready >= replicas else "False",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                    "lastTransitionTime": _iso(created),
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable" if updated >= replicas else "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{name}" is progressing.',
                    "lastTransitionTime": _iso(created),
                },
            ],
        },
    }
    if paused:
        raw["spec"]["paused"] = True
    return raw


def make_deployment(
    cluster: Cluster, namespace: str, name: str, template: dict | None = None, *, replicas: int = 3, **kw: Any
) -> Workload:
    template = template or pod_template({"app": name}, [container("web", "nginx:1.27", ports=[{"containerPort": 80}])])
    revision = kw.pop("revision", 1)
    raw = deployment_raw(name, namespace, template, replicas=replicas, **kw)
    raw["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = str(revision)
    return make_workload(cluster, "Deployment", raw)


def make_replicaset(
    cluster: Cluster,
    deployment: Workload,
    template: dict,
    *,
    revision: int,
    replicas: int,
    ready: int | None = None,
    created: datetime | None = None,
    also_workload_row: bool = True,
) -> TemplateRevision:
    """A Deployment's ReplicaSet, as a TemplateRevision (and, like the sync may, a ReplicaSet Workload row)."""
    h = template_hash(template)
    tpl = copy.deepcopy(template)
    tpl["metadata"]["labels"]["pod-template-hash"] = h
    created = created or deployment.created_at + timedelta(minutes=revision)
    ready = replicas if ready is None else ready
    name = f"{deployment.name}-{h}"
    raw = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": _meta(
            name,
            deployment.namespace,
            created,
            {**tpl["metadata"]["labels"]},
            annotations={"deployment.kubernetes.io/revision": str(revision)},
            ownerReferences=[_owner_ref("Deployment", deployment.name, deployment.uid)],
            generation=1,
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {**tpl["metadata"]["labels"]}},
            "template": tpl,
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": 1},
    }
    # The sync writes a ReplicaSet twice: as a Workload and as a revision of its Deployment's template.
    row = TemplateRevision.objects.create(
        cluster=cluster, **rows.base_columns(raw) | rows.template_revision_columns("ReplicaSet", raw)
    )
    if also_workload_row:
        make_workload(cluster, "ReplicaSet", raw)
    return row


def make_controller_revision(
    cluster: Cluster, workload: Workload, template: dict, *, revision: int, stateful: bool
) -> TemplateRevision:
    h = template_hash(template)
    name = f"{workload.name}-{h}"
    raw = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": _meta(
            name,
            workload.namespace,
            workload.created_at + timedelta(minutes=revision),
            {**template["metadata"]["labels"], "controller-revision-hash": name if stateful else h},
            ownerReferences=[_owner_ref(workload.kind, workload.name, workload.uid)],
        ),
        "revision": revision,
        "data": {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}},
    }
    return TemplateRevision.objects.create(
        cluster=cluster, **rows.base_columns(raw) | rows.template_revision_columns("ControllerRevision", raw)
    )


def make_statefulset(
    cluster: Cluster, namespace: str, name: str, template: dict | None = None, *, replicas: int = 3
) -> Workload:
    template = template or pod_template(
        {"app": name}, [container("db", "postgres:16", ports=[{"containerPort": 5432}])]
    )
    created = timezone.now() - timedelta(days=5)
    raw = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(name, namespace, created, {"app": name}, generation=1),
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": copy.deepcopy(template),
            "updateStrategy": {"type": "RollingUpdate"},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": replicas,
            "updatedReplicas": replicas,
            "currentRevision": f"{name}-{template_hash(template)}",
            "updateRevision": f"{name}-{template_hash(template)}",
        },
    }
    return make_workload(cluster, "StatefulSet", raw)


def make_daemonset(
    cluster: Cluster, namespace: str, name: str, template: dict | None = None, *, nodes: int = 3
) -> Workload:
    template = template or pod_template({"app": name}, [container("agent", "fluent/fluent-bit:3.0")])
    raw = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta(name, namespace, timezone.now() - timedelta(days=9), {"app": name}, generation=1),
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": copy.deepcopy(template)},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": nodes,
            "currentNumberScheduled": nodes,
            "numberReady": nodes,
            "updatedNumberScheduled": nodes,
            "numberAvailable": nodes,
        },
    }
    return make_workload(cluster, "DaemonSet", raw)


def job_raw(
    name: str,
    namespace: str,
    template: dict,
    *,
    complete: bool = True,
    owner: Workload | None = None,
    created: datetime | None = None,
) -> dict:
    created = created or timezone.now() - timedelta(hours=1)
    extra = {"ownerReferences": [_owner_ref("CronJob", owner.name, owner.uid, "batch/v1")]} if owner else {}
    status: dict = {"startTime": _iso(created), "active": 0 if complete else 1}
    if complete:
        status.update(
            succeeded=1,
            completionTime=_iso(created + timedelta(seconds=8)),
            conditions=[
                {"type": "Complete", "status": "True", "lastTransitionTime": _iso(created + timedelta(seconds=8))}
            ],
        )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, namespace, created, dict(template["metadata"]["labels"]), **extra),
        "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 4, "template": copy.deepcopy(template)},
        "status": status,
    }


def make_job(
    cluster: Cluster,
    namespace: str,
    name: str,
    template: dict,
    *,
    complete: bool = True,
    owner: Workload | None = None,
    created: datetime | None = None,
) -> Workload:
    raw = job_raw(name, namespace, template, complete=complete, owner=owner, created=created)
    return make_workload(cluster, "Job", raw)


def make_cronjob(
    cluster: Cluster, namespace: str, name: str, template: dict, *, schedule: str = "*/5 * * * *"
) -> Workload:
    raw = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, namespace, timezone.now() - timedelta(days=1), {"app": name}),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"backoffLimit": 2, "template": copy.deepcopy(template)}},
        },
        "status": {"lastScheduleTime": _iso(timezone.now() - timedelta(minutes=3))},
    }
    return make_workload(cluster, "CronJob", raw)


# --- Pods -------------------------------------------------------------------------------------------------------------


def pod_raw(
    name: str,
    namespace: str,
    template: dict,
    *,
    owner: tuple[str, str, str] | None = None,
    phase: str = "Running",
    ready: bool = True,
    restarts: int = 0,
    node: str = "node-1",
    ip: str = "10.244.1.10",
    created: datetime | None = None,
    waiting_reason: str = "",
    extra_labels: dict | None = None,
) -> dict:
    created = created or timezone.now() - timedelta(hours=5)
    spec = copy.deepcopy(template.get("spec") or {})
    spec["nodeName"] = node
    labels = {**(template.get("metadata") or {}).get("labels", {}), **(extra_labels or {})}
    extra: dict = {"annotations": dict((template.get("metadata") or {}).get("annotations") or {})}
    if owner:
        kind, owner_name, owner_uid = owner
        api = "batch/v1" if kind == "Job" else "apps/v1"
        extra["ownerReferences"] = [_owner_ref(kind, owner_name, owner_uid, api)]
    started = _iso(created + timedelta(seconds=3))

    def status_of(c: dict, init: bool = False) -> dict:
        if init:
            state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}}
            return {"name": c["name"], "image": c["image"], "ready": False, "restartCount": 0, "state": state}
        if phase == "Succeeded":
            state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}}
        elif waiting_reason:
            state = {"waiting": {"reason": waiting_reason, "message": f"{waiting_reason} for {c['image']}"}}
        elif phase == "Running":
            state = {"running": {"startedAt": started}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        cs = {
            "name": c["name"],
            "image": c["image"],
            "ready": ready,
            "started": phase == "Running",
            "restartCount": restarts,
            "state": state,
        }
        if restarts:
            cs["lastState"] = {
                "terminated": {"exitCode": 1, "reason": "Error", "startedAt": started, "finishedAt": started}
            }
        return cs

    status = {
        "phase": phase,
        "qosClass": "BestEffort",
        "hostIP": "172.18.0.2",
        "startTime": _iso(created),
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": _iso(created)},
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {"type": "ContainersReady", "status": str(ready), "lastTransitionTime": started},
            {"type": "Ready", "status": str(ready), "lastTransitionTime": started},
        ],
        "containerStatuses": [status_of(c) for c in spec.get("containers") or []],
    }
    if spec.get("initContainers"):
        status["initContainerStatuses"] = [status_of(c, init=True) for c in spec["initContainers"]]
    if phase in ("Running", "Succeeded"):
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, namespace, created, labels, **extra),
        "spec": spec,
        "status": status,
    }


def make_pod(
    cluster: Cluster,
    namespace: str,
    name: str,
    template: dict,
    *,
    owner: tuple[str, str, str] | None = None,
    workload_uid: str = "",
    **kw: Any,
) -> Pod:
    raw = pod_raw(name, namespace, template, owner=owner, **kw)
    return pod_row(cluster, raw, workload_uid=workload_uid)


def pod_row(cluster: Cluster, raw: dict, *, workload_uid: str = "", save: bool = True) -> Pod:
    """A Pod row as the sync writes it; `workload_uid` is the top workload the sync links it to."""
    pod = Pod(cluster=cluster, **rows.base_columns(raw) | rows.pod_columns(raw), workload_uid=workload_uid)
    if save:
        pod.save()
    return pod


def make_event(
    cluster: Cluster,
    *,
    kind: str,
    name: str,
    involved_uid: str,
    namespace: str,
    reason: str,
    message: str,
    type: str = "Normal",
    ago: timedelta = timedelta(minutes=2),
) -> Event:
    seen = timezone.now() - ago
    raw = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": _meta(f"{name}.{uuid.uuid4().hex[:16]}", namespace, seen),
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace, "uid": involved_uid},
        "reason": reason,
        "message": message,
        "type": type,
        "count": 1,
        "firstTimestamp": _iso(seen),
        "lastTimestamp": _iso(seen),
    }
    return Event.objects.create(cluster=cluster, **rows.base_columns(raw) | rows.event_columns(raw))


# --- scenarios --------------------------------------------------------------------------------------------------------


def rollout(
    cluster: Cluster,
    namespace: str,
    name: str = "web",
    *,
    old_image: str = "nginx:1.26",
    new_image: str = "nginx:1.27",
    old_pods: int = 2,
    new_pods: int = 2,
    replicas: int = 3,
) -> tuple[Workload, TemplateRevision, TemplateRevision, list[Pod]]:
    """A Deployment mid-rollout: the old ReplicaSet still has Pods, the new one is coming up."""

    def tpl(image: str) -> dict:
        return pod_template(
            {"app": name},
            [
                container(
                    "web",
                    image,
                    ports=[{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                    env=[
                        {"name": "MODE", "value": "production"},
                        {
                            "name": "DB_PASSWORD",
                            "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}},
                        },
                    ],
                    resources={"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                    readinessProbe={"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 5},
                )
            ],
        )

    old_t, new_t = tpl(old_image), tpl(new_image)
    deploy = make_deployment(
        cluster,
        namespace,
        name,
        new_t,
        replicas=replicas,
        ready=old_pods + new_pods - 1,
        updated=new_pods,
        total=old_pods + new_pods,
        revision=2,
    )
    old_rs = make_replicaset(cluster, deploy, old_t, revision=1, replicas=old_pods)
    new_rs = make_replicaset(cluster, deploy, new_t, revision=2, replicas=new_pods, ready=new_pods - 1)
    pods = []
    for rs, tmpl, count, prefix in ((old_rs, old_t, old_pods, "o"), (new_rs, new_t, new_pods, "n")):
        t = copy.deepcopy(tmpl)
        t["metadata"]["labels"]["pod-template-hash"] = rs.template_hash
        for i in range(count):
            ready = not (rs is new_rs and i == count - 1)
            pods.append(
                make_pod(
                    cluster,
                    namespace,
                    f"{rs.name}-{prefix}{i:03d}x",
                    t,
                    owner=("ReplicaSet", rs.name, rs.uid),
                    workload_uid=deploy.uid,
                    phase="Running",
                    ready=ready,
                    ip=f"10.244.{2 if rs is new_rs else 1}.{10 + i}",
                    node=f"node-{i % 3 + 1}",
                    created=timezone.now() - (timedelta(days=2) if rs is old_rs else timedelta(minutes=3)),
                )
            )
    return deploy, old_rs, new_rs, pods


def docs_nginx_pod(cluster: Cluster, namespace: str) -> Pod:
    """The bare Pod from the Kubernetes documentation's Pod page."""
    tpl = pod_template({}, [container("nginx", "nginx:1.14.2", ports=[{"containerPort": 80, "protocol": "TCP"}])])
    return make_pod(cluster, namespace, "nginx", tpl)


def docs_hello_job(cluster: Cluster, namespace: str) -> tuple[Workload, Pod]:
    """The `hello` Job from the same page: busybox printing a message."""
    tpl = pod_template(
        {"job-name": "hello"},
        [container("hello", "busybox:1.28", command=["sh", "-c", 'echo "Hello, Kubernetes!" && sleep 3600'])],
        restartPolicy="OnFailure",
    )
    tpl["spec"]["restartPolicy"] = "OnFailure"
    job = make_job(cluster, namespace, "hello", tpl, complete=False)
    pod = make_pod(
        cluster,
        namespace,
        "hello-x7k2p",
        tpl,
        owner=("Job", "hello", job.uid),
        workload_uid=job.uid,
        extra_labels={"batch.kubernetes.io/controller-uid": job.uid},
    )
    return job, pod


def multi_container_pod(cluster: Cluster, namespace: str) -> Pod:
    """Two containers and an init container sharing an emptyDir, as in the docs' shared-volume example."""
    tpl = pod_template(
        {"app": "two-containers"},
        [
            container(
                "nginx-container",
                "nginx:1.27",
                volumeMounts=[{"name": "shared-data", "mountPath": "/usr/share/nginx/html"}],
            ),
            container(
                "debian-container",
                "debian:12",
                command=["/bin/sh"],
                args=["-c", "echo Hello from the debian container > /pod-data/index.html && sleep 3600"],
                volumeMounts=[{"name": "shared-data", "mountPath": "/pod-data"}],
            ),
        ],
        initContainers=[
            container(
                "init-content",
                "busybox:1.36",
                command=["sh", "-c", "echo init > /init-data/ready"],
                volumeMounts=[{"name": "shared-data", "mountPath": "/init-data"}],
            )
        ],
        volumes=[{"name": "shared-data", "emptyDir": {}}],
    )
    return make_pod(cluster, namespace, "two-containers", tpl)
