"""The disruption controller: a PodDisruptionBudget's status computed from the Pods it selects
(how many are healthy, how many must be, and so how many may be disrupted now)."""

from __future__ import annotations

import math

from democluster.controllers.base import Controller, controller_ref, is_deleting, now_rfc3339, pod_is_ready
from democluster.resources import DEPLOYMENTS, PODDISRUPTIONBUDGETS, PODS, Resource
from democluster.selectors import match_label_selector
from democluster.store import Obj


def _selects(pdb: Obj, labels: dict[str, str] | None) -> bool:
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:  # policy/v1: a null selector selects no Pods, an empty one every Pod
        return False
    return match_label_selector(selector, labels)


class DisruptionController(Controller):
    name = "disruption"
    res = PODDISRUPTIONBUDGETS

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is PODDISRUPTIONBUDGETS:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is PODS:
            namespace = new["metadata"].get("namespace")
            labels = [new["metadata"].get("labels"), old["metadata"].get("labels") if old is not None else None]
            for pdb in self.index.selecting(PODDISRUPTIONBUDGETS, namespace, *labels):
                if _selects(pdb, new["metadata"].get("labels")) or (
                    old is not None and _selects(pdb, old["metadata"].get("labels"))
                ):
                    self.enqueue((namespace, pdb["metadata"]["name"]))

    def _expected_from_controllers(self, pods: list[Obj]) -> int:
        """The sum of the scale of the Pods' controllers (a ReplicaSet's Deployment counts as the Deployment)."""
        scales: dict[str, int] = {}
        for pod in pods:
            ref = controller_ref(pod)
            if not ref:
                continue
            found = self.index.lookup(ref.get("uid", ""))
            if found is None:
                continue
            res, owner = found
            top = controller_ref(owner)
            if res.kind == "ReplicaSet" and top and top.get("kind") == "Deployment":
                deployment = self.index.lookup(top.get("uid", ""))
                if deployment is not None and deployment[0] is DEPLOYMENTS:
                    owner = deployment[1]
            scales[owner["metadata"]["uid"]] = (owner.get("spec") or {}).get("replicas", 1)
        return sum(scales.values())

    def reconcile(self, namespace: str, name: str) -> None:
        pdb = self.store.try_get(PODDISRUPTIONBUDGETS, namespace, name)
        if pdb is None or is_deleting(pdb):
            return
        spec = pdb.get("spec") or {}
        selector = spec.get("selector") or {}
        candidates = self.index.pods_carrying(namespace, selector.get("matchLabels"))
        pods = [p for p in candidates if _selects(pdb, p["metadata"].get("labels"))]
        healthy = sum(1 for p in pods if pod_is_ready(p) and not is_deleting(p))
        max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
        if max_unavailable is not None:
            expected = self._expected_from_controllers(pods)
            text = str(max_unavailable)
            unavailable = math.ceil(int(text[:-1]) * expected / 100) if text.endswith("%") else int(text)
            desired = max(0, expected - unavailable)
        elif isinstance(min_available, str) and min_available.endswith("%"):
            expected = self._expected_from_controllers(pods)
            desired = math.ceil(int(min_available[:-1]) * expected / 100)
        else:
            expected = len(pods)
            desired = int(min_available if min_available is not None else 1)
        allowed = max(0, healthy - desired) if expected > 0 else 0
        generation = pdb["metadata"].get("generation", 1)
        old_status = pdb.get("status") or {}
        old_condition = next(
            (c for c in old_status.get("conditions") or () if c.get("type") == "DisruptionAllowed"), {}
        )
        value = "True" if allowed > 0 else "False"
        condition = {
            "lastTransitionTime": old_condition.get("lastTransitionTime")
            if old_condition.get("status") == value
            else now_rfc3339(),
            "message": "",
            "observedGeneration": generation,
            "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
            "status": value,
            "type": "DisruptionAllowed",
        }
        status: Obj = {
            "conditions": [condition],
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "disruptionsAllowed": allowed,
            "expectedPods": expected,
            "observedGeneration": generation,
        }
        if status != old_status:
            self.store.update(PODDISRUPTIONBUDGETS, {**pdb, "status": status}, subresource="status")
