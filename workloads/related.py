"""What stands around a workload, read from the mirror: the Services that send its Pods traffic, the ConfigMaps and
Secrets its Pod template reads (and whether they exist), its StatefulSet claims, the autoscaler that sets its
replicas and the disruption budgets that guard its Pods. And the other way: which workloads use a ConfigMap or Secret,
and which a Service selects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from workloads.models import Pod, RelatedObject, Workload

Obj = dict[str, Any]

# The workloads that own Pods themselves (a ReplicaSet of a Deployment, a Job of a CronJob shows through its owner).
TOP_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet")
# What the "Around this workload" card reads.
AROUND_KINDS = (
    "Service", "EndpointSlice", "ConfigMap", "Secret", "PersistentVolumeClaim", "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
)  # fmt: skip


@dataclass(frozen=True)
class Reference:
    """One place a Pod template names a ConfigMap or Secret."""

    kind: str  # "ConfigMap" or "Secret"
    name: str
    key: str  # "" when the whole object is read (envFrom, a volume without items)
    where: str  # "env PASSWORD of container web", "volume config", "imagePullSecrets"
    optional: bool = False


def template_references(template: Obj) -> list[Reference]:
    """Every ConfigMap and Secret a Pod template reads: env valueFrom, envFrom, volumes (projected too) and
    imagePullSecrets, in template order."""
    spec = template.get("spec") or {}
    found: list[Reference] = []
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        cname = container.get("name", "")
        for env in container.get("env") or ():
            source = env.get("valueFrom") or {}
            where = _("env %(var)s of container %(c)s") % {"var": env.get("name", ""), "c": cname}
            for kind, ref in (("ConfigMap", source.get("configMapKeyRef")), ("Secret", source.get("secretKeyRef"))):
                if ref and ref.get("name"):
                    found.append(Reference(kind, ref["name"], ref.get("key", ""), where, bool(ref.get("optional"))))
        for env_from in container.get("envFrom") or ():
            where = _("envFrom of container %(c)s") % {"c": cname}
            for kind, ref in (("ConfigMap", env_from.get("configMapRef")), ("Secret", env_from.get("secretRef"))):
                if ref and ref.get("name"):
                    found.append(Reference(kind, ref["name"], "", where, bool(ref.get("optional"))))
    for volume in spec.get("volumes") or ():
        own = _("volume %(v)s") % {"v": volume.get("name", "")}
        projected = _("projected volume %(v)s") % {"v": volume.get("name", "")}
        sources = [(volume, own)]
        sources += [(s, projected) for s in (volume.get("projected") or {}).get("sources") or ()]
        for source, where in sources:
            config_map, secret = source.get("configMap"), source.get("secret")
            if config_map and config_map.get("name"):
                found += _volume_refs("ConfigMap", config_map["name"], config_map, where)
            if secret and (secret.get("secretName") or secret.get("name")):
                found += _volume_refs("Secret", secret.get("secretName") or secret["name"], secret, where)
    for pull in spec.get("imagePullSecrets") or ():
        if pull.get("name"):
            found.append(Reference("Secret", pull["name"], "", "imagePullSecrets"))
    return found


def _volume_refs(kind: str, name: str, source: Obj, where: str) -> list[Reference]:
    optional = bool(source.get("optional"))
    items = source.get("items") or []
    if not items:
        return [Reference(kind, name, "", where, optional)]
    return [Reference(kind, name, item.get("key", ""), where, optional) for item in items]


@dataclass
class ReferenceState:
    ref: Reference
    exists: bool
    key_missing: bool
    url: str = ""
    hidden: bool = False  # the person may not list its kind: neither present nor missing to them

    @property
    def problem(self) -> str:
        """What a person must know, in the words the kubelet's failure would lead to; "" when all is well."""
        ref = self.ref
        if self.hidden:
            return ""
        if not self.exists:
            if ref.optional:
                return ""
            if ref.where == "imagePullSecrets":
                return _("Pulling private images will fail: Secret %(n)s not found") % {"n": ref.name}
            return _("The Pods will fail to start: %(k)s %(n)s not found") % {"k": ref.kind, "n": ref.name}
        if self.key_missing and not ref.optional:
            return _("The Pods will fail to start: key %(key)s not found in %(k)s %(n)s") % {
                "key": ref.key,
                "k": ref.kind,
                "n": ref.name,
            }
        return ""


@dataclass
class ServiceView:
    service: RelatedObject
    ports: list[str]
    ready: int  # endpoints of this workload's Pods that are ready
    endpoints: int  # endpoints of this workload's Pods


@dataclass
class Around:
    references: list[ReferenceState] = field(default_factory=list)
    services: list[ServiceView] = field(default_factory=list)
    claims: list[RelatedObject] = field(default_factory=list)
    claim_templates: list[str] = field(default_factory=list)
    autoscaler: RelatedObject | None = None
    budgets: list[RelatedObject] = field(default_factory=list)
    hidden_kinds: set[str] = field(default_factory=set)  # kinds the person may not list in the namespace

    @property
    def problems(self) -> list[str]:
        return list(dict.fromkeys(p for r in self.references if (p := r.problem)))

    @property
    def blocking_budgets(self) -> list[RelatedObject]:
        return [b for b in self.budgets if ((b.raw.get("status") or {}).get("disruptionsAllowed") or 0) == 0]


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels. None selects nothing; {} everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (
            op == "NotIn" and key in labels and labels[key] in values
        ):
            return False
        if (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def service_selects(service: RelatedObject, labels: dict[str, str]) -> bool:
    """A Service's selector is a plain label map; one without a selector selects nothing (its endpoints are manual)."""
    return bool(service.selector) and all(labels.get(k) == v for k, v in service.selector.items())


def _live(qs: Any) -> Any:
    return qs.live()


def _port_text(port: Obj) -> str:
    target = port.get("targetPort", port.get("port"))
    name = f"{port['name']} " if port.get("name") else ""
    return f"{name}{port.get('port')}→{target}/{port.get('protocol', 'TCP')}"


def around(w: Workload, pods: Iterable[Pod], listed: set[str] | None = None) -> Around:
    """Everything around one workload, from the mirror (a few queries, bounded by its namespace); only the kinds in
    ``listed`` when given (those the person may list there)."""
    result = Around()
    template = w.pod_template
    labels = (template.get("metadata") or {}).get("labels") or {}
    in_namespace = _live(RelatedObject.objects.filter(cluster_id=w.cluster_id, namespace=w.namespace))
    if listed is not None:
        result.hidden_kinds = {k for k in AROUND_KINDS if k not in listed}
        in_namespace = in_namespace.filter(kind__in=listed)
    refs = template_references(template)
    names = {(r.kind, r.name) for r in refs}
    present = {
        (o.kind, o.name): o
        for o in in_namespace.filter(kind__in=["ConfigMap", "Secret"], name__in=[n for _, n in names]).only(
            "kind", "name", "keys", "uid"
        )
    }
    for ref in refs:
        obj = present.get((ref.kind, ref.name))
        # A Secret's key names are not in its metadata: a key of a Secret that exists is never called missing.
        key_missing = bool(obj and ref.key and ref.kind == "ConfigMap" and ref.key not in obj.keys)
        result.references.append(
            ReferenceState(ref, obj is not None, key_missing, hidden=ref.kind in result.hidden_kinds)
        )

    pod_uids = {p.uid for p in pods}
    services = [s for s in in_namespace.filter(kind="Service") if service_selects(s, labels)]
    slices = list(in_namespace.filter(kind="EndpointSlice", target_name__in=[s.name for s in services]))
    for service in services:
        ready = total = 0
        for endpoint_slice in slices:
            if endpoint_slice.target_name != service.name:
                continue
            for endpoint in endpoint_slice.raw.get("endpoints") or ():
                if (endpoint.get("targetRef") or {}).get("uid") in pod_uids:
                    total += 1
                    ready += bool((endpoint.get("conditions") or {}).get("ready"))
        ports = [_port_text(p) for p in (service.raw.get("spec") or {}).get("ports") or ()]
        result.services.append(ServiceView(service, ports, ready, total))

    if w.kind == "StatefulSet":
        result.claim_templates = [
            (t.get("metadata") or {}).get("name", "")
            for t in (w.raw.get("spec") or {}).get("volumeClaimTemplates") or ()
        ]
        prefixes = tuple(f"{t}-{w.name}-" for t in result.claim_templates if t)
        if prefixes:
            claims = in_namespace.filter(kind="PersistentVolumeClaim").order_by("name")
            result.claims = [c for c in claims if c.name.startswith(prefixes) and c.name.rsplit("-", 1)[-1].isdigit()]
    result.autoscaler = in_namespace.filter(
        kind="HorizontalPodAutoscaler", target_kind=w.kind, target_name=w.name
    ).first()
    result.budgets = [
        b for b in in_namespace.filter(kind="PodDisruptionBudget") if selector_matches(b.selector, labels)
    ]
    return result


# --- the other way round ----------------------------------------------------------------------------------------


def workloads_in(cluster_id: int, namespace: str) -> list[Workload]:
    """The workloads of a namespace that own their Pod template (not a Deployment's ReplicaSets, a CronJob's Jobs)."""
    return list(
        _live(Workload.objects.filter(cluster_id=cluster_id, namespace=namespace, kind__in=TOP_KINDS, owner_uid=""))
        .defer("health_reason")
        .order_by("kind", "name")
    )


def users_of(obj: RelatedObject) -> list[tuple[Workload, list[Reference]]]:
    """The workloads whose Pod template reads this ConfigMap or Secret, and where."""
    found = []
    for w in workloads_in(obj.cluster_id, obj.namespace):
        refs = [r for r in template_references(w.pod_template) if (r.kind, r.name) == (obj.kind, obj.name)]
        if refs:
            found.append((w, refs))
    return found


def selected_by(service: RelatedObject) -> list[Workload]:
    """The workloads whose Pod template labels this Service selects."""
    return [
        w
        for w in workloads_in(service.cluster_id, service.namespace)
        if service_selects(service, (w.pod_template.get("metadata") or {}).get("labels") or {})
    ]


def touched_workloads(cluster_id: int, kind: str, objects: Iterable[Obj]) -> set[str]:
    """The workloads whose pages show one of these objects (so a live page follows it): those reading a ConfigMap or
    Secret by name, selected by a Service (or the Service of an EndpointSlice), guarded by a budget, scaled by an
    autoscaler, or owning a claim."""
    by_namespace: dict[str, list[Obj]] = {}
    for obj in objects:
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace:
            by_namespace.setdefault(namespace, []).append(obj)
    touched: set[str] = set()
    for namespace, objs in by_namespace.items():
        names = {(o.get("metadata") or {}).get("name", "") for o in objs}
        services: list[RelatedObject] = []
        if kind == "EndpointSlice":
            service_names = {
                ((o.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") for o in objs
            }
            services = list(
                _live(RelatedObject.objects.filter(cluster_id=cluster_id, namespace=namespace, kind="Service")).filter(
                    name__in=[n for n in service_names if n]
                )
            )
            if not services:
                continue
        for w in workloads_in(cluster_id, namespace):
            if _shows(w, kind, objs, names, services):
                touched.add(w.uid)
    return touched


def _shows(w: Workload, kind: str, objs: list[Obj], names: set[str], services: list[RelatedObject]) -> bool:
    template = w.pod_template
    labels = (template.get("metadata") or {}).get("labels") or {}
    if kind in ("ConfigMap", "Secret"):
        return any(r.kind == kind and r.name in names for r in template_references(template))
    if kind == "Service":
        selectors = [(o.get("spec") or {}).get("selector") for o in objs]
        return any(sel and all(labels.get(k) == v for k, v in sel.items()) for sel in selectors)
    if kind == "EndpointSlice":
        return any(service_selects(s, labels) for s in services)
    if kind == "PodDisruptionBudget":
        return any(selector_matches((o.get("spec") or {}).get("selector"), labels) for o in objs)
    if kind == "HorizontalPodAutoscaler":
        targets = [(o.get("spec") or {}).get("scaleTargetRef") or {} for o in objs]
        return any(t.get("kind") == w.kind and t.get("name") == w.name for t in targets)
    if kind == "PersistentVolumeClaim":
        return w.kind == "StatefulSet" and any(f"-{w.name}-" in n for n in names)
    return False


@dataclass
class Endpoint:
    """One endpoint of a Service, as its EndpointSlices say (a Pod's address, and whether it takes traffic)."""

    addresses: list[str]
    ready: bool
    serving: bool
    terminating: bool
    pod_name: str  # the Pod behind it ("" when its targetRef is not a Pod)
    node_name: str
    slice_name: str


def endpoints_of(service: RelatedObject) -> list[Endpoint]:
    """Every endpoint of a Service from its EndpointSlices, ready ones first, then by Pod name. The API says a
    missing ``ready`` condition means ready."""
    slices = _live(
        RelatedObject.objects.filter(
            cluster_id=service.cluster_id, namespace=service.namespace, kind="EndpointSlice", target_name=service.name
        )
    ).order_by("name")
    found = []
    for endpoint_slice in slices:
        for endpoint in endpoint_slice.raw.get("endpoints") or ():
            conditions = endpoint.get("conditions") or {}
            ref = endpoint.get("targetRef") or {}
            ready = conditions.get("ready") is not False
            found.append(
                Endpoint(
                    addresses=[str(a) for a in endpoint.get("addresses") or ()],
                    ready=ready,
                    serving=conditions.get("serving", ready) is not False,
                    terminating=bool(conditions.get("terminating")),
                    pod_name=ref.get("name", "") if ref.get("kind") == "Pod" else "",
                    node_name=endpoint.get("nodeName", ""),
                    slice_name=endpoint_slice.name,
                )
            )
    return sorted(found, key=lambda e: (not e.ready, e.pod_name, e.addresses))


def service_ports(service: RelatedObject) -> list[str]:
    return [_port_text(p) for p in (service.raw.get("spec") or {}).get("ports") or ()]
