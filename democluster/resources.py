"""The resource types democluster serves, as discovery describes them."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    subresources: tuple[str, ...] = ()  # "status", "scale"
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    has_generation: bool = True
    extra_versions: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """Storage key: one per resource, shared by every version it is served at."""
        return f"{self.group}/{self.plural}" if self.group else self.plural

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def qualified(self) -> str:
        """The name used in error messages: ``deployments.apps``, ``pods``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_qualified(self) -> str:
        """``Deployment.apps``, ``Pod``: used in 422 messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


RESOURCES: list[Resource] = [
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",), (), "namespace", ("status",), has_generation=False),
    Resource("", "v1", "nodes", "Node", False, ("no",), (), "node", ("status",), has_generation=False),
    Resource("", "v1", "pods", "Pod", True, ("po",), ("all",), "pod", ("log", "status"), has_generation=False),
    Resource("", "v1", "events", "Event", True, ("ev",), (), "event", (), has_generation=False),
    Resource("", "v1", "services", "Service", True, ("svc",), ("all",), "service", ("status",), has_generation=False),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",), (), "configmap", (), has_generation=False),
    Resource("", "v1", "secrets", "Secret", True, (), (), "secret", (), has_generation=False),
    Resource(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        (),
        "persistentvolumeclaim",
        ("status",),
        has_generation=False,
    ),
    Resource(
        "", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), (), "serviceaccount", (), has_generation=False
    ),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", True, (), (), "role", (), has_generation=False),
    Resource(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        True,
        (),
        (),
        "rolebinding",
        (),
        has_generation=False,
    ),
    Resource(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        False,
        (),
        (),
        "clusterrole",
        (),
        has_generation=False,
    ),
    Resource(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        False,
        (),
        (),
        "clusterrolebinding",
        (),
        has_generation=False,
    ),
    Resource("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("all",), "deployment", ("status", "scale")),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("all",), "replicaset", ("status", "scale")),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("all",), "statefulset", ("status", "scale")),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("all",), "daemonset", ("status",)),
    Resource("apps", "v1", "controllerrevisions", "ControllerRevision", True, (), (), "controllerrevision", ()),
    Resource("batch", "v1", "jobs", "Job", True, (), ("all",), "job", ("status",)),
    Resource("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("all",), "cronjob", ("status",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, (), (), "endpointslice", ()),
    Resource(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        ("all",),
        "horizontalpodautoscaler",
        ("status",),
        has_generation=False,
    ),
    Resource(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        (),
        "poddisruptionbudget",
        ("status",),
    ),
]

BY_KEY: dict[str, Resource] = {r.key: r for r in RESOURCES}
BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}


def lookup(group: str, plural: str) -> Resource | None:
    return BY_KEY.get(f"{group}/{plural}" if group else plural)


def by_kind(kind: str) -> Resource:
    return BY_KIND[kind]


PODS = BY_KIND["Pod"]
EVENTS = BY_KIND["Event"]
NAMESPACES = BY_KIND["Namespace"]
NODES = BY_KIND["Node"]
DEPLOYMENTS = BY_KIND["Deployment"]
REPLICASETS = BY_KIND["ReplicaSet"]
STATEFULSETS = BY_KIND["StatefulSet"]
DAEMONSETS = BY_KIND["DaemonSet"]
CONTROLLERREVISIONS = BY_KIND["ControllerRevision"]
JOBS = BY_KIND["Job"]
CRONJOBS = BY_KIND["CronJob"]
SERVICES = BY_KIND["Service"]
CONFIGMAPS = BY_KIND["ConfigMap"]
SECRETS = BY_KIND["Secret"]
PERSISTENTVOLUMECLAIMS = BY_KIND["PersistentVolumeClaim"]
ENDPOINTSLICES = BY_KIND["EndpointSlice"]
HORIZONTALPODAUTOSCALERS = BY_KIND["HorizontalPodAutoscaler"]
PODDISRUPTIONBUDGETS = BY_KIND["PodDisruptionBudget"]
