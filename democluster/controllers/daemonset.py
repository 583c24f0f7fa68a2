"""The DaemonSet controller: one Pod per schedulable node, pinned with node affinity, replaced
``maxUnavailable`` at a time on a template change."""

from __future__ import annotations

import time

from democluster.controllers.base import (
    Controller,
    int_or_percent,
    is_deleting,
    owner_reference,
    pod_available_in,
    pod_is_active,
    pod_is_ready,
)
from democluster.controllers.statefulset import HASH_LABEL, RevisionHistory
from democluster.errors import ApiError
from democluster.resources import DAEMONSETS, NODES, PODS, Resource
from democluster.store import Obj, clone

COMPONENT = "daemonset-controller"
REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"

DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def pod_node(pod: Obj) -> str | None:
    """The node a daemon Pod is meant for: its nodeName, else its matchFields affinity."""
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        return node
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    terms = (affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for expr in term.get("matchFields") or ():
            if expr.get("key") == "metadata.name" and expr.get("values"):
                return expr["values"][0]
    return None


class DaemonSetController(Controller):
    name = "daemonset"
    res = DAEMONSETS

    def __init__(self, ctx) -> None:  # noqa: ANN001
        super().__init__(ctx)
        self.history = RevisionHistory(self, DAEMONSETS)

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is DAEMONSETS:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is PODS:
            self.enqueue_owner(new, "DaemonSet")
        elif res is NODES:
            for ds in self.store.list(DAEMONSETS):
                self.enqueue((ds["metadata"]["namespace"], ds["metadata"]["name"]))

    def eligible_nodes(self, ds: Obj) -> list[str]:
        selector = ((ds["spec"].get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        names = []
        for node in self.store.list(NODES):
            labels = node["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in selector.items()):
                names.append(node["metadata"]["name"])
        return names

    def pod_for(self, ds: Obj, node: str, revision_hash: str) -> Obj:
        template = clone(ds["spec"].get("template") or {})
        md = template.get("metadata") or {}
        labels = dict(md.get("labels") or {})
        labels[REVISION_LABEL] = revision_hash
        labels[GENERATION_LABEL] = str(ds["metadata"].get("generation", 1))
        metadata: Obj = {
            "generateName": f"{ds['metadata']['name']}-",
            "namespace": ds["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(DAEMONSETS, ds)],
        }
        if md.get("annotations"):
            metadata["annotations"] = md["annotations"]
        spec = template.get("spec") or {}
        spec["affinity"] = {
            **(spec.get("affinity") or {}),
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                    ]
                }
            },
        }
        tolerations = list(spec.get("tolerations") or [])
        for toleration in DAEMON_TOLERATIONS:
            if not any(t.get("key") == toleration["key"] for t in tolerations):
                tolerations.append(dict(toleration))
        spec["tolerations"] = tolerations
        return {"metadata": metadata, "spec": spec}

    def reconcile(self, namespace: str, name: str) -> None:
        ds = self.store.try_get(DAEMONSETS, namespace, name)
        if ds is None or is_deleting(ds):
            return
        revision, _ = self.history.ensure(ds)
        revision_hash = (revision["metadata"].get("labels") or {}).get(HASH_LABEL, "")
        nodes = self.eligible_nodes(ds)
        by_node: dict[str, list[Obj]] = {}
        misscheduled: list[Obj] = []
        for pod in self.index.owned(ds["metadata"]["uid"], PODS):
            node = pod_node(pod)
            if node in nodes:
                by_node.setdefault(node, []).append(pod)
            else:
                misscheduled.append(pod)
        for pod in misscheduled:
            if not is_deleting(pod):
                self.delete_pod(ds, pod)
        for node in nodes:
            pods = [p for p in by_node.get(node, []) if not is_deleting(p)]
            failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
            for pod in failed:
                self.delete_pod(ds, pod)
            active = [p for p in pods if pod_is_active(p)]
            if not active and not any(is_deleting(p) for p in by_node.get(node, [])):
                created = self.store.create(PODS, self.pod_for(ds, node, revision_hash))
                self.recorder.record(
                    DAEMONSETS,
                    ds,
                    "Normal",
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    component=COMPONENT,
                )
            for extra in sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", ""))[1:]:
                self.delete_pod(ds, extra)
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            self.rolling_update(ds, nodes, revision_hash)
        self.sync_status(ds, nodes, revision_hash)
        keep = {revision["metadata"]["name"]}
        for pod in self.index.owned(ds["metadata"]["uid"], PODS):
            keep.add(f"{name}-{(pod['metadata'].get('labels') or {}).get(REVISION_LABEL, '')}")
        self.history.truncate(ds, keep)

    def rolling_update(self, ds: Obj, nodes: list[str], revision_hash: str) -> None:
        max_unavailable = int_or_percent(
            ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1),
            len(nodes),
            True,
        )
        max_unavailable = max(1, max_unavailable)
        unavailable = 0
        old_pods = []
        pods = self.index.owned(ds["metadata"]["uid"], PODS)
        for node in nodes:
            here = [p for p in pods if pod_node(p) == node]
            live = [p for p in here if pod_is_active(p)]
            if not live or not any(pod_is_ready(p) for p in live):
                unavailable += 1
            for pod in live:
                if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision_hash:
                    old_pods.append(pod)
        # Old unavailable Pods go first: replacing them costs nothing.
        old_pods.sort(key=lambda p: pod_is_ready(p))
        for pod in old_pods:
            if not pod_is_ready(pod):
                self.delete_pod(ds, pod)
            elif unavailable < max_unavailable:
                self.delete_pod(ds, pod)
                unavailable += 1

    def delete_pod(self, ds: Obj, pod: Obj) -> None:
        try:
            self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except ApiError:
            return
        self.recorder.record(
            DAEMONSETS,
            ds,
            "Normal",
            "SuccessfulDelete",
            f"Deleted pod: {pod['metadata']['name']}",
            component=COMPONENT,
        )

    def sync_status(self, ds: Obj, nodes: list[str], revision_hash: str) -> None:
        min_ready = ds["spec"].get("minReadySeconds", 0)
        now = time.time()
        current = misscheduled = ready = available = updated = 0
        wait = None
        for pod in self.index.owned(ds["metadata"]["uid"], PODS):
            if not pod_is_active(pod):
                continue
            node = (pod.get("spec") or {}).get("nodeName")
            if not node:
                continue
            if node not in nodes:
                misscheduled += 1
                continue
            current += 1
            if pod_is_ready(pod):
                ready += 1
                remaining = pod_available_in(pod, min_ready, now)
                if remaining == 0:
                    available += 1
                elif remaining is not None:
                    wait = remaining if wait is None else min(wait, remaining)
            if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision_hash:
                updated += 1
        if wait is not None:
            self.enqueue((ds["metadata"]["namespace"], ds["metadata"]["name"]), wait + 0.05)
        old = ds.get("status") or {}
        status: Obj = {
            "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled,
            "desiredNumberScheduled": len(nodes),
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if updated:
            status["updatedNumberScheduled"] = updated
        if available:
            status["numberAvailable"] = available
        if len(nodes) - available > 0:
            status["numberUnavailable"] = len(nodes) - available
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        if status != old:
            self.store.update(DAEMONSETS, {**ds, "status": status}, subresource="status")
