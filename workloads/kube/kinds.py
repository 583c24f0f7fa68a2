"""The kinds Podium mirrors and edits, and their API paths."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # Kubernetes kind, "Deployment"
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def item_path(self, namespace: str | None, name: str, subresource: str = "") -> str:
        path = f"{self.collection_path(namespace)}/{name}"
        return f"{path}/{subresource}" if subresource else path


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("Namespace", "", "v1", "namespaces", namespaced=False),
        Kind("Node", "", "v1", "nodes", namespaced=False),
        Kind("Deployment", "apps", "v1", "deployments"),
        Kind("ReplicaSet", "apps", "v1", "replicasets"),
        Kind("StatefulSet", "apps", "v1", "statefulsets"),
        Kind("DaemonSet", "apps", "v1", "daemonsets"),
        Kind("ControllerRevision", "apps", "v1", "controllerrevisions"),
        Kind("Job", "batch", "v1", "jobs"),
        Kind("CronJob", "batch", "v1", "cronjobs"),
        Kind("Pod", "", "v1", "pods"),
        Kind("Event", "", "v1", "events"),
    ]
}


def kind_for(name: str) -> Kind:
    return KINDS[name]
