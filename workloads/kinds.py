"""The one table of the kinds Podium knows: their API paths, what Podium does with each (mirror, list, roll out,
scale, edit, delete), and the ClusterRole that follows from it. Everything else asks this table; nothing else lists
kinds by name."""

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
    # Podium's own role creates or patches it (the edit form and YAML tab, rollout actions, Apply manifest). Apply
    # manifest sends any kind the cluster serves: the others need the person's RBAC (impersonation) or a wider role.
    appliable: bool = False
    scalable: bool = False  # patch its scale subresource
    deletable: bool = False  # delete it (a Pod, to have its controller replace it; a Job, to recreate it)
    # Listed and watched as PartialObjectMetadata only, so that what it holds never leaves the cluster (Secrets):
    metadata_only: bool = False
    workload: bool = False  # mirrored as a Workload row, with a Pod template and a page of its own
    rolling: bool = False  # rolls its Pods from one template revision to the next (the rollout panel and its chart)
    listed: bool = False  # offered by the workload list's kind filter
    # A batch of it moves a rollout's progress (a rollout sample is recorded for the workloads it touches):
    sampled: bool = False

    @property
    def slug(self) -> str:
        """The kind in URLs: ``deployment``."""
        return self.name.lower()

    @property
    def panel(self) -> bool:
        """The workload page shows a rollout panel: the rolling kinds, and a Job's completions."""
        return self.rolling or self.name == "Job"

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


# Parents before children: the sync lists them in this order, so that owner links resolve on the first sync.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("Namespace", "", "v1", "namespaces", namespaced=False),
        Kind("Node", "", "v1", "nodes", namespaced=False),
        Kind("Deployment", "apps", "v1", "deployments", appliable=True, scalable=True, workload=True, rolling=True,
             listed=True, sampled=True),
        Kind("StatefulSet", "apps", "v1", "statefulsets", appliable=True, scalable=True, workload=True, rolling=True,
             listed=True, sampled=True),
        Kind("DaemonSet", "apps", "v1", "daemonsets", appliable=True, workload=True, rolling=True, listed=True,
             sampled=True),
        Kind("CronJob", "batch", "v1", "cronjobs", appliable=True, workload=True, listed=True),
        Kind("ReplicaSet", "apps", "v1", "replicasets", appliable=True, scalable=True, workload=True, listed=True,
             sampled=True),
        Kind("ControllerRevision", "apps", "v1", "controllerrevisions", sampled=True),
        Kind("Job", "batch", "v1", "jobs", appliable=True, deletable=True, workload=True, listed=True),
        Kind("Pod", "", "v1", "pods", appliable=True, deletable=True, listed=True, sampled=True),
        Kind("Event", "", "v1", "events"),
        # Around the workloads: what sends them traffic, what their templates read, what scales and guards them.
        Kind("Service", "", "v1", "services"),
        Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
        Kind("ConfigMap", "", "v1", "configmaps"),
        Kind("Secret", "", "v1", "secrets", metadata_only=True),
        Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
        Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers"),
        Kind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets"),
    ]
}  # fmt: skip
SYNC_KINDS = tuple(KINDS)
WORKLOAD_KINDS = tuple(k.name for k in KINDS.values() if k.workload)
ROLLING_KINDS = tuple(k.name for k in KINDS.values() if k.rolling)
PANEL_KINDS = tuple(k.name for k in KINDS.values() if k.panel)
LISTED_KINDS = tuple(k.name for k in KINDS.values() if k.listed)
SAMPLED_KINDS = tuple(k.name for k in KINDS.values() if k.sampled)
# A workload page's URL names its kind by slug: ``/c/demo/ns/shop/deployment/web/``.
KIND_SLUGS = {k.slug: k.name for k in KINDS.values() if k.workload}
READ_VERBS = ("get", "list", "watch")
APPLIABLE_KINDS = tuple(k.name for k in KINDS.values() if k.appliable)
SCALABLE_KINDS = tuple(k.name for k in KINDS.values() if k.scalable)


def access_rules() -> set[tuple[str, str, str]]:
    """Every (apiGroup, resource, verb) Podium sends: what its ClusterRole must grant, and all it may.

    Read: the watchers list and watch every mirrored kind, edits get the object first. Write: only
    what a page can send (create/patch from Apply manifest and edits, patch of the scale
    subresource, delete of a Pod or a Job), and a Pod's log (the log pages read it, never the sync).
    Secrets are listed and watched only (see ``Kind.metadata_only``). The chart's ClusterRole is written from it
    (``cluster_role_rules``), and the tests check the
    rendered role against it.
    """
    rules = set()
    for k in KINDS.values():
        # A Secret is never read one by one: RBAC cannot grant "metadata only", and ``get`` would be one more way to
        # read values. (``list`` and ``watch`` grant values too; Podium asks them for metadata alone.)
        reads = ("list", "watch") if k.metadata_only else READ_VERBS
        rules |= {(k.group, k.plural, verb) for verb in reads}
        if k.appliable:
            rules |= {(k.group, k.plural, "create"), (k.group, k.plural, "patch")}
        if k.scalable:
            rules.add((k.group, f"{k.plural}/scale", "patch"))
        if k.deletable:
            rules.add((k.group, k.plural, "delete"))
    rules.add(("", "pods/log", "get"))
    # Acting as the signed-in person (a Cluster's impersonation): exactly users and groups, no service accounts,
    # no user extras or uids, so Podium can never act as a workload's own identity.
    rules |= IMPERSONATE
    return rules


IMPERSONATE = {("", "users", "impersonate"), ("", "groups", "impersonate")}
IMPERSONATE_RULE = {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}


_VERB_ORDER = (*READ_VERBS, "create", "patch", "delete")


def cluster_role_rules() -> list[dict[str, list[str]]]:
    """``access_rules`` as a ClusterRole's rules, as a person would write them: reading first (one rule
    per API group), then changing (one rule per group and set of verbs), resources in the order of
    KINDS and their scale subresources (and pods/log) after them. scripts/render_deploy.py writes the chart's
    deploy/helm/podium/files/rbac-rules.yaml from it."""
    granted = access_rules() - IMPERSONATE
    resources = [(k.group, k.plural) for k in KINDS.values()] + [(k.group, f"{k.plural}/scale") for k in KINDS.values()]
    resources.append(("", "pods/log"))
    groups = list(dict.fromkeys(group for group, _ in resources))
    rules = []
    for reading in (True, False):
        for group in groups:
            by_verbs: dict[tuple[str, ...], list[str]] = {}
            for g, resource in resources:
                verbs = tuple(
                    v
                    for v in _VERB_ORDER
                    if g == group and (g, resource, v) in granted and (v in READ_VERBS) == reading
                )
                if verbs:
                    by_verbs.setdefault(verbs, []).append(resource)
            rules += [{"apiGroups": [group], "resources": r, "verbs": list(v)} for v, r in by_verbs.items()]
    written = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    if written != granted:  # a verb or resource this ordering does not know: say so rather than drop it
        raise ValueError(f"cluster_role_rules cannot write {sorted(granted - written)}")
    return [*rules, IMPERSONATE_RULE]


def kind_for(name: str) -> Kind:
    return KINDS[name]
