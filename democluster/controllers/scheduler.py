"""The default scheduler: binds each Pod that names it (``schedulerName``, default-scheduler by default) to the
fitting node with the fewest Pods, honouring ``nodeSelector``, required node affinity and unschedulable nodes;
a Pod that fits nowhere gets ``PodScheduled=False`` (Unschedulable) and a FailedScheduling Event. The kubelet
(kubelet.py) takes the bound Pod from there."""

from __future__ import annotations

from democluster.controllers.base import Controller, now_rfc3339
from democluster.resources import NODES, PODS, Resource
from democluster.store import Obj

DEFAULT_SCHEDULER = "default-scheduler"


class Scheduler(Controller):
    name = "scheduler"
    res = PODS  # build() enqueues every existing Pod; the bound and the deleting are skipped

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is not PODS:
            return
        m = new["metadata"]
        key = (m["namespace"], m["name"])
        if type_ == "DELETED":
            self.queue.pop(key, None)
            return
        spec = new.get("spec") or {}
        if spec.get("nodeName") or m.get("deletionTimestamp"):
            return
        if spec.get("schedulerName", DEFAULT_SCHEDULER) == DEFAULT_SCHEDULER:
            self.enqueue(key)

    def reconcile(self, namespace: str, name: str) -> None:
        pod = self.store.try_get(PODS, namespace, name)
        if pod is None or (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        nodes = [n for n in self.store.list(NODES) if self.fits(pod, n)]
        if not nodes:
            self.unschedulable(pod)
            return
        node = min(
            nodes, key=lambda n: (len(self.index.pods_by_node.get(n["metadata"]["name"], ())), n["metadata"]["name"])
        )
        node_name = node["metadata"]["name"]
        bound = {**pod, "spec": {**pod["spec"], "nodeName": node_name}}
        bound = self.store.update(PODS, bound)
        status = dict(bound.get("status") or {})
        status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != "PodScheduled"] + [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}
        ]
        status.setdefault("phase", "Pending")
        bound = self.store.update(PODS, {**bound, "status": status}, subresource="status")
        self.recorder.record_scheduled(bound, node_name)
        self.ctx.kubelet.notice(bound)  # type: ignore[attr-defined]

    def fits(self, pod: Obj, node: Obj) -> bool:
        spec = pod.get("spec") or {}
        node_name = node["metadata"]["name"]
        if (node.get("spec") or {}).get("unschedulable"):
            return False
        labels = node["metadata"].get("labels") or {}
        for key, value in (spec.get("nodeSelector") or {}).items():
            if labels.get(key) != value:
                return False
        required = (
            ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
                "requiredDuringSchedulingIgnoredDuringExecution"
            )
            or {}
        ).get("nodeSelectorTerms") or []
        if required:
            return any(self.term_matches(term, node_name, labels) for term in required)
        return True

    @staticmethod
    def term_matches(term: Obj, node_name: str, labels: dict[str, str]) -> bool:
        for expr in term.get("matchFields") or ():
            if expr.get("key") == "metadata.name":
                values = expr.get("values") or []
                if (expr.get("operator") == "In") != (node_name in values):
                    return False
        for expr in term.get("matchExpressions") or ():
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and labels.get(key) in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    def unschedulable(self, pod: Obj) -> None:
        total = len(self.store.list(NODES))
        message = f"0/{total} nodes are available: {total} node(s) didn't match Pod's node affinity/selector."
        status = dict(pod.get("status") or {})
        current = next((c for c in status.get("conditions") or () if c.get("type") == "PodScheduled"), None)
        if current and current.get("status") == "False":
            return
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "lastTransitionTime": now_rfc3339(),
                "reason": "Unschedulable",
                "message": message,
            }
        ]
        self.store.update(PODS, {**pod, "status": status}, subresource="status")
        self.recorder.record(PODS, pod, "Warning", "FailedScheduling", message, component="default-scheduler")
