"""Scale mode for benchmarks: many Deployments with their ReplicaSets and Running, Ready Pods, written
straight into the store (no admission, no per-Pod Events), and a steady stream of changes.

Objects are built already defaulted and with the status the controllers would compute, so the
controllers find nothing to do when they first look at them.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import uuid
from typing import Any

from democluster.admission import default as api_default
from democluster.controllers.base import template_hash
from democluster.controllers.kubelet import image_id, normalize_image
from democluster.resources import (
    CONFIGMAPS,
    DEPLOYMENTS,
    HORIZONTALPODAUTOSCALERS,
    NAMESPACES,
    NODES,
    PODDISRUPTIONBUDGETS,
    PODS,
    REPLICASETS,
    SECRETS,
    SERVICES,
    Resource,
)
from democluster.store import GENERATE_ALPHABET, Obj, Store, clone, key_of, now_rfc3339

SCALE_NAMESPACES = ("scale-a", "scale-b", "scale-c", "scale-d")
BENCH_NAMESPACE = "bench"
BENCH_WORKLOADS = 200
BENCH_PODS = 3000
CHURN_ANNOTATION = "democluster.podium.dev/churn"
IMAGES = ("nginx:1.25.3", "ghcr.io/podium-demo/api:1.4.0", "redis:7.2.4", "busybox:1.36", "python:3.12-slim")


def _insert(store: Store, res: Resource, obj: Obj) -> Obj:
    """Store an already complete object as a create would, without admission."""
    m = obj["metadata"]
    m.setdefault("uid", str(uuid.uuid4()))
    m.setdefault("creationTimestamp", now_rfc3339())
    if res.has_generation:
        m.setdefault("generation", 1)
    m["resourceVersion"] = store._bump()
    store.objects[res.key][key_of(obj)] = obj
    store._commit(res, "ADDED", None, obj)
    return obj


def _ensure_namespace(store: Store, name: str) -> None:
    if store.try_get(NAMESPACES, None, name) is None:
        store.create(NAMESPACES, {"metadata": {"name": name}})


def _owner(res: Resource, obj: Obj) -> Obj:
    return {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _ready_pod_status(container_specs: list[Obj], node: str, host_ip: str, pod_ip: str, now: str) -> Obj:
    conditions = [
        {"type": t, "status": "True", "lastTransitionTime": now}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    statuses = []
    for c in container_specs:
        image = c["image"]
        statuses.append(
            {
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "image": normalize_image(image),
                "imageID": image_id(image),
                "lastState": {},
                "name": c["name"],
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
            }
        )
    return {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "containerStatuses": statuses,
        "qosClass": "Burstable",
    }


def _deployment(namespace: str, name: str, replicas: int, image: str) -> Obj:
    labels = {"app": name, "tier": "scale"}
    obj: Obj = {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": image,
                            "ports": [{"containerPort": 8080}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }
    api_default(DEPLOYMENTS, obj, None)
    return obj


def _build_workload(
    store: Store, namespace: str, name: str, replicas: int, nodes: list[tuple[str, str]], counter: list[int]
) -> None:
    now = now_rfc3339()
    d = _deployment(namespace, name, replicas, IMAGES[counter[0] % len(IMAGES)])
    pod_hash = template_hash(d["spec"]["template"], 0, "pod-template-hash")
    rs_name = f"{name}-{pod_hash}"
    d["metadata"]["uid"] = str(uuid.uuid4())
    d["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    counters = {"replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas}
    counters["availableReplicas"] = replicas
    d["status"] = {
        "observedGeneration": 1,
        **{k: v for k, v in counters.items() if v},
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{rs_name}" has successfully progressed.',
            },
        ],
    }
    template = clone(d["spec"]["template"])
    template["metadata"]["labels"]["pod-template-hash"] = pod_hash
    surge = -(-replicas * 25 // 100)
    rs: Obj = {
        "metadata": {
            "name": rs_name,
            "namespace": namespace,
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                "deployment.kubernetes.io/revision": "1",
            },
            "ownerReferences": [_owner(DEPLOYMENTS, d)],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name, "pod-template-hash": pod_hash}},
            "template": template,
        },
        "status": {
            "replicas": replicas,
            **(
                {"fullyLabeledReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}
                if replicas
                else {}
            ),
            "observedGeneration": 1,
        },
    }
    _insert(store, DEPLOYMENTS, d)
    _insert(store, REPLICASETS, rs)
    # Pods share their (read-only) spec dict apart from nodeName: objects in the store are never mutated.
    pod_spec = clone(template["spec"])
    api_default(PODS, {"metadata": {}, "spec": pod_spec}, None)
    pod_spec["tolerations"] = [
        {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        for t in ("not-ready", "unreachable")
    ]
    specs_by_node = {node: {**pod_spec, "nodeName": node} for node, _ in nodes}
    owner = _owner(REPLICASETS, rs)
    for _ in range(replicas):
        counter[0] += 1
        node, host_ip = nodes[counter[0] % len(nodes)]
        n = counter[0]
        pod_ip = f"10.{64 + (n >> 16) % 64}.{(n >> 8) & 255}.{n & 255}"
        pod_name = f"{rs_name}-{''.join(random.choices(GENERATE_ALPHABET, k=5))}"
        while store.try_get(PODS, namespace, pod_name) is not None:  # a suffix drawn twice
            pod_name = f"{rs_name}-{''.join(random.choices(GENERATE_ALPHABET, k=5))}"
        pod = {
            "metadata": {
                "name": pod_name,
                "generateName": f"{rs_name}-",
                "namespace": namespace,
                "labels": template["metadata"]["labels"],
                "ownerReferences": [owner],
            },
            "spec": specs_by_node[node],
            "status": _ready_pod_status(pod_spec["containers"], node, host_ip, pod_ip, now),
        }
        _insert(store, PODS, pod)


def _nodes(store: Store) -> list[tuple[str, str]]:
    nodes = []
    for node in store.list(NODES):
        ip = next(
            (a["address"] for a in (node.get("status") or {}).get("addresses") or () if a.get("type") == "InternalIP"),
            "172.18.0.2",
        )
        nodes.append((node["metadata"]["name"], ip))
    return nodes or [("node-1", "172.18.0.2")]


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _build_around(store: Store, namespace: str, name: str) -> None:
    """What stands around one scale workload: a Service (its EndpointSlice follows from the controller), a ConfigMap,
    a Secret, a PodDisruptionBudget and a HorizontalPodAutoscaler."""
    selector = {"app": name, "tier": "scale"}
    meta = {"name": name, "namespace": namespace}
    store.create(SERVICES, {"metadata": meta, "spec": {"selector": selector, "ports": [{"name": "http", "port": 80}]}})
    store.create(CONFIGMAPS, {"metadata": meta, "data": {"LOG_LEVEL": "info", "MODE": "scale", "REGION": "eu"}})
    store.create(SECRETS, {"metadata": meta, "data": {"token": "c2NhbGUtbW9kZQ=="}})
    spec = {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    store.create(PODDISRUPTIONBUDGETS, {"metadata": meta, "spec": spec})
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    store.create(HORIZONTALPODAUTOSCALERS, {"metadata": meta, "spec": {"scaleTargetRef": target, "maxReplicas": 100}})


def generate(store: Store, *, workloads: int, pods: int, bench: bool = False, around: bool = False) -> None:
    """``workloads`` Deployments with ``pods`` Running, Ready Pods between them, over a few namespaces;
    with ``bench``, also namespace ``bench`` holding 200 workloads and 3,000 Pods; with ``around``, each workload
    has a Service, ConfigMap, Secret, PodDisruptionBudget and HorizontalPodAutoscaler."""
    nodes = _nodes(store)
    counter = [0]
    plan: list[tuple[str, str, int]] = []
    if workloads > 0:
        for i, replicas in enumerate(_spread(pods, workloads)):
            namespace = SCALE_NAMESPACES[i % len(SCALE_NAMESPACES)]
            plan.append((namespace, f"app-{i:05d}", replicas))
    if bench:
        for i, replicas in enumerate(_spread(BENCH_PODS, BENCH_WORKLOADS)):
            plan.append((BENCH_NAMESPACE, f"svc-{i:03d}", replicas))
    for namespace in {ns for ns, _, _ in plan}:
        _ensure_namespace(store, namespace)
    for namespace, name, replicas in plan:
        if store.try_get(DEPLOYMENTS, namespace, name) is None:
            _build_workload(store, namespace, name, replicas, nodes, counter)
        if around and store.try_get(SERVICES, namespace, name) is None:
            _build_around(store, namespace, name)


async def churn(store: Store, *, rate: float, namespaces: tuple[str, ...] | None = None, mix: str = "any") -> None:
    """Change ``rate`` objects a second until cancelled: mostly Pod annotations, some readiness flips
    (which move ReplicaSet and Deployment status), now and then a scale by one; with ``mix="ready"``, only
    readiness flips (each one changes what a Pod's row shows, and no Pod comes or goes)."""
    wanted = set(namespaces or (*SCALE_NAMESPACES, BENCH_NAMESPACE))
    loop = asyncio.get_running_loop()
    pods: list[tuple[str, str]] = []
    refreshed = 0.0
    step = 0.05
    owed = 0.0
    n = 0
    last = loop.time()
    while True:
        await asyncio.sleep(step)
        now = loop.time()
        # What the time since the last step owes, not ``step``'s worth: the sleep lasts longer than asked, by the
        # changes themselves and by everything else on the loop (at 1,000/s that was a fifth of them).
        elapsed, last = min(now - last, 1.0), now
        if now - refreshed > 5 or not pods:
            pods = [k for k in store.objects[PODS.key] if k[0] in wanted]
            refreshed = now
            if not pods:
                continue
        owed += rate * elapsed
        while owed >= 1:
            owed -= 1
            n += 1
            _one_change(store, pods, n, roll=0.1 if mix == "ready" else random.random())


def _one_change(store: Store, pods: list[tuple[str, str]], n: int, *, roll: float) -> None:
    if roll < 0.01:
        namespace, name = random.choice(pods)
        pod = store.try_get(PODS, namespace, name)
        owner = ((pod or {}).get("metadata", {}).get("ownerReferences") or [{}])[0]
        rs = store.try_get(REPLICASETS, namespace, owner.get("name", "")) if pod else None
        deploy_ref = ((rs or {}).get("metadata", {}).get("ownerReferences") or [{}])[0]
        d = store.try_get(DEPLOYMENTS, namespace, deploy_ref.get("name", "")) if rs else None
        if d is not None:
            new = clone(d)
            replicas = new["spec"].get("replicas", 1)
            new["spec"]["replicas"] = max(1, replicas + random.choice((-1, 1)))
            store.update(DEPLOYMENTS, new)
        return
    namespace, name = random.choice(pods)
    pod = store.try_get(PODS, namespace, name)
    if pod is None or pod["metadata"].get("deletionTimestamp") or not pod.get("status"):
        return
    if roll < 0.2 and pod["status"].get("phase") == "Running":
        store.update(PODS, {**pod, "status": _flipped(pod["status"])}, subresource="status")
        return
    new: dict[str, Any] = {**pod, "metadata": {**pod["metadata"]}}
    new["metadata"]["annotations"] = {**(pod["metadata"].get("annotations") or {}), CHURN_ANNOTATION: str(n)}
    store.update(PODS, new)


def _flipped(status: Obj) -> Obj:
    """A Running Pod's status with its readiness flipped: new dicts where it changes, the stored ones elsewhere (the
    store copies the status it is given)."""
    ready = not any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or ())
    now = now_rfc3339()
    conditions = []
    for cond in status.get("conditions") or ():
        if cond["type"] in ("Ready", "ContainersReady"):
            cond = {**cond, "status": "True" if ready else "False", "lastTransitionTime": now}
            if ready:
                cond.pop("reason", None)
                cond.pop("message", None)
            else:
                names = " ".join(c["name"] for c in status.get("containerStatuses") or ())
                cond["reason"] = "ContainersNotReady"
                cond["message"] = f"containers with unready status: [{names}]"
        conditions.append(cond)
    container_statuses = [{**cs, "ready": ready} for cs in status.get("containerStatuses") or ()]
    return {**status, "conditions": conditions, "containerStatuses": container_statuses}
