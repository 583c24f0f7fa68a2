"""The ReplicaSet controller: keep ``spec.replicas`` Pods and report how many are ready and available."""

from __future__ import annotations

import time
from typing import Any

from democluster.controllers.base import (
    Controller,
    counted_moved,
    get_condition,
    owner_reference,
    parse_time,
    pod_available_in,
    pod_is_active,
    pod_is_ready,
)
from democluster.resources import PODS, REPLICASETS, Resource
from democluster.store import Obj, clone

COMPONENT = "replicaset-controller"


def pod_from_template(template: Obj, namespace: str, generate_name: str, owner: dict[str, Any]) -> Obj:
    tpl = clone(template or {})
    tpl_meta = tpl.get("metadata") or {}
    metadata: Obj = {"generateName": generate_name, "namespace": namespace, "ownerReferences": [owner]}
    for field in ("labels", "annotations", "finalizers"):
        if tpl_meta.get(field):
            metadata[field] = tpl_meta[field]
    return {"metadata": metadata, "spec": tpl.get("spec") or {}}


def deletion_rank(pod: Obj) -> tuple:
    """Sort key putting the Pods to delete first: unscheduled, pending, not ready, recently ready,
    restarted most, newest (controller.ActivePods ordering)."""
    status = pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", "Pending"), 0)
    ready = pod_is_ready(pod)
    ready_since = parse_time((get_condition(status, "Ready") or {}).get("lastTransitionTime")) or 0.0
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or ())
    created = parse_time(pod["metadata"].get("creationTimestamp")) or 0.0
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,
        phase_rank,
        1 if ready else 0,
        -ready_since if ready else 0.0,
        -restarts,
        -created,
    )


class ReplicaSetController(Controller):
    name = "replicaset"
    res = REPLICASETS

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is REPLICASETS and not self.writing_status:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is PODS and (type_ != "MODIFIED" or counted_moved(old, new)):
            self.enqueue_owner(new, "ReplicaSet")

    def reconcile(self, namespace: str, name: str) -> None:
        rs = self.store.try_get(REPLICASETS, namespace, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        spec = rs.get("spec") or {}
        active = [p for p in self.index.owned(rs["metadata"]["uid"], PODS) if pod_is_active(p)]
        want = spec.get("replicas", 1)
        diff = len(active) - want
        if diff < 0:
            owner = owner_reference(REPLICASETS, rs)
            for _ in range(-diff):
                pod = self.store.create(PODS, pod_from_template(spec.get("template"), namespace, f"{name}-", owner))
                self.recorder.record(
                    REPLICASETS,
                    rs,
                    "Normal",
                    "SuccessfulCreate",
                    f"Created pod: {pod['metadata']['name']}",
                    component=COMPONENT,
                )
            active = None  # counted again, with the new Pods
        elif diff > 0:
            victims = sorted(active, key=deletion_rank)[:diff]
            for pod in victims:
                self.store.delete(PODS, namespace, pod["metadata"]["name"])
                self.recorder.record(
                    REPLICASETS,
                    rs,
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    component=COMPONENT,
                )
            active = None  # counted again, without the deleted Pods
        self.sync_status(rs, active)

    def sync_status(self, rs: Obj, active: list[Obj] | None = None) -> None:
        """Count the ReplicaSet's active Pods (``active``, when the caller has just counted them) into its status."""
        spec = rs.get("spec") or {}
        if active is None:
            active = [p for p in self.index.owned(rs["metadata"]["uid"], PODS) if pod_is_active(p)]
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        min_ready = spec.get("minReadySeconds", 0)
        now = time.time()
        ready = available = labeled = 0
        wait: float | None = None
        for pod in active:
            if template_labels.items() <= (pod["metadata"].get("labels") or {}).items():  # matchLabels: a subset
                labeled += 1
            if not pod_is_ready(pod):
                continue
            ready += 1
            remaining = pod_available_in(pod, min_ready, now)
            if remaining == 0:
                available += 1
            elif remaining is not None:
                wait = remaining if wait is None else min(wait, remaining)
        if wait is not None:
            self.enqueue((rs["metadata"]["namespace"], rs["metadata"]["name"]), wait + 0.05)
        status: Obj = {"replicas": len(active)}
        if labeled:
            status["fullyLabeledReplicas"] = labeled
        if ready:
            status["readyReplicas"] = ready
        if available:
            status["availableReplicas"] = available
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        conditions = (rs.get("status") or {}).get("conditions")
        if conditions:
            status["conditions"] = conditions
        if status != rs.get("status"):
            self.write_status({**rs, "status": status})
