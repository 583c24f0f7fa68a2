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
    # What Podium's pages may send for this kind besides get/list/watch (see ``access_rules``):
    appliable: bool = False  # create or patch it (Apply manifest, the edit form and YAML tab, rollout actions)
    scalable: bool = False  # patch its scale subresource
    deletable: bool = False  # delete it (a Pod, to have its controller replace it; a Job, to recreate it)

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
        Kind("Deployment", "apps", "v1", "deployments", appliable=True, scalable=True),
        Kind("ReplicaSet", "apps", "v1", "replicasets", appliable=True, scalable=True),
        Kind("StatefulSet", "apps", "v1", "statefulsets", appliable=True, scalable=True),
        Kind("DaemonSet", "apps", "v1", "daemonsets", appliable=True),
        Kind("ControllerRevision", "apps", "v1", "controllerrevisions"),
        Kind("Job", "batch", "v1", "jobs", appliable=True, deletable=True),
        Kind("CronJob", "batch", "v1", "cronjobs", appliable=True),
        Kind("Pod", "", "v1", "pods", appliable=True, deletable=True),
        Kind("Event", "", "v1", "events"),
    ]
}
APPLIABLE_KINDS = tuple(k.name for k in KINDS.values() if k.appliable)
SCALABLE_KINDS = tuple(k.name for k in KINDS.values() if k.scalable)


def access_rules() -> set[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) Podium sends: what its ClusterRole must grant, and all it may.

    Read: the watchers list and watch every mirrored kind, edits get the object first. Write: only
    what a page can send (create/patch from Apply manifest and edits, patch of the scale
    subresource, delete of a Pod or a Job), and a Pod's log (the log pages read it, never the sync).
    deploy/kubernetes/10-rbac.yaml is checked against it.
    """
    rules = set()
    for k in KINDS.values():
        rules |= {(k.group, k.plural, verb) for verb in ("get", "list", "watch")}
        if k.appliable:
            rules |= {(k.group, k.plural, "create"), (k.group, k.plural, "patch")}
        if k.scalable:
            rules.add((k.group, f"{k.plural}/scale", "patch"))
        if k.deletable:
            rules.add((k.group, k.plural, "delete"))
    rules.add(("", "pods/log", "get"))
    return rules


def kind_for(name: str) -> Kind:
    return KINDS[name]
