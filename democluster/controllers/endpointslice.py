"""The EndpointSlice controller: one slice per Service with a selector, listing the Pods it selects
and whether each is ready, serving or terminating, as kube-controller-manager keeps them."""

from __future__ import annotations

from typing import Any

from democluster.controllers.base import Controller, is_deleting, now_rfc3339, owner_reference, pod_is_ready
from democluster.resources import ENDPOINTSLICES, PODS, SERVICES, Resource
from democluster.store import Obj, clone

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"


def _selects(service: Obj, labels: dict[str, str] | None) -> bool:
    selector = (service.get("spec") or {}).get("selector")
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _target_port(port: Obj, pod: Obj | None) -> int | None:
    """A Service port's targetPort as a number: a name is looked up among the Pod's container ports."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in ((pod or {}).get("spec") or {}).get("containers") or ():
        for cport in container.get("ports") or ():
            if cport.get("name") == target:
                return cport.get("containerPort")
    return None


class EndpointSliceController(Controller):
    name = "endpointslice"
    res = SERVICES

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is SERVICES:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is PODS:
            namespace = new["metadata"].get("namespace")
            labels = [new["metadata"].get("labels"), old["metadata"].get("labels") if old is not None else None]
            for service in self.index.selecting(SERVICES, namespace, *labels):
                if _selects(service, new["metadata"].get("labels")) or (
                    old is not None and _selects(service, old["metadata"].get("labels"))
                ):
                    self.enqueue((namespace, service["metadata"]["name"]))
        elif res is ENDPOINTSLICES:
            service_name = (new["metadata"].get("labels") or {}).get(SERVICE_NAME)
            if service_name:
                self.enqueue((new["metadata"]["namespace"], service_name))

    def _slices(self, namespace: str, name: str) -> list[Obj]:
        return [
            s
            for s in self.store.list(ENDPOINTSLICES, namespace)
            if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
            and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER
        ]

    def reconcile(self, namespace: str, name: str) -> None:
        service = self.store.try_get(SERVICES, namespace, name)
        slices = self._slices(namespace, name)
        if service is None or is_deleting(service) or not (service.get("spec") or {}).get("selector"):
            for stale in slices:  # the garbage collector would too; a selector removed leaves none
                self.store.delete(ENDPOINTSLICES, namespace, stale["metadata"]["name"])
            return
        pods = [
            p
            for p in self.index.pods_carrying(namespace, service["spec"]["selector"])
            if _selects(service, p["metadata"].get("labels"))
            and (p.get("status") or {}).get("podIP")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]
        pods.sort(key=lambda p: p["metadata"]["name"])
        endpoints = []
        for pod in pods:
            terminating = is_deleting(pod)
            ready = pod_is_ready(pod)
            endpoint: dict[str, Any] = {
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready and not terminating, "serving": ready, "terminating": terminating},
            }
            if (pod.get("spec") or {}).get("nodeName"):
                endpoint["nodeName"] = pod["spec"]["nodeName"]
            endpoint["targetRef"] = {
                "kind": "Pod",
                "name": pod["metadata"]["name"],
                "namespace": namespace,
                "uid": pod["metadata"]["uid"],
            }
            endpoints.append(endpoint)
        ports = []
        for port in (service.get("spec") or {}).get("ports") or () if pods else ():
            number = _target_port(port, pods[0] if pods else None)
            entry: dict[str, Any] = {"name": port.get("name", ""), "protocol": port.get("protocol", "TCP")}
            if number is not None:
                entry["port"] = number
            ports.append(entry)
        # As the controller writes them: ``null``, not absent, when no Pod is selected.
        wanted: Obj = {"addressType": "IPv4", "endpoints": endpoints or None, "ports": ports or None}
        trigger = {"endpoints.kubernetes.io/last-change-trigger-time": now_rfc3339()}
        if not slices:
            labels = dict(service["metadata"].get("labels") or {})
            labels.update({SERVICE_NAME: name, MANAGED_BY: CONTROLLER})
            self.store.create(
                ENDPOINTSLICES,
                {
                    "metadata": {
                        "generateName": f"{name}-",
                        "namespace": namespace,
                        "labels": labels,
                        "annotations": trigger,
                        "ownerReferences": [owner_reference(SERVICES, service)],
                    },
                    **wanted,
                },
            )
            return
        current, extra = slices[0], slices[1:]
        for stale in extra:
            self.store.delete(ENDPOINTSLICES, namespace, stale["metadata"]["name"])
        if {k: current.get(k) for k in ("addressType", "endpoints", "ports")} != {
            k: wanted.get(k) for k in ("addressType", "endpoints", "ports")
        }:
            updated = clone(current)
            updated.pop("endpoints", None)
            updated.pop("ports", None)
            updated.update(wanted)
            updated["metadata"]["annotations"] = {**(updated["metadata"].get("annotations") or {}), **trigger}
            self.store.update(ENDPOINTSLICES, updated)
