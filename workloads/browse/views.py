"""Browsing: the overview, workload lists, workload and Pod pages. Reads come from the mirror only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import yaml
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from workloads import access, kinds, redaction, related, roles
from workloads.browse import lookups, presenters
from workloads.live import publish as live
from workloads.live import subscriptions
from workloads.models import Cluster, Event, Namespace, Pod, TemplateRevision, Workload

PAGE_SIZE = 50
PODS_PER_GROUP = 25
EVENTS_SHOWN = 40
WORKLOAD_SORTS = {
    "name": ("namespace", "name"),
    "kind": ("kind", "namespace", "name"),
    "age": ("-created_at", "name"),
    "ready": ("ready_replicas", "name"),
    "health": ("health", "name"),
    "namespace": ("namespace", "name"),
}
POD_SORTS = {
    "name": ("namespace", "name"),
    "age": ("-created_at", "name"),
    "status": ("status_text", "name"),
    "restarts": ("-restarts", "name"),
    "node": ("node_name", "name"),
    "namespace": ("namespace", "name"),
}
# Columns a list needs; `raw` stays in the database unless a row is shown.
POD_LIST_FIELDS = (
    "uid",
    "namespace",
    "name",
    "created_at",
    "deleted_at",
    "phase",
    "status_text",
    "ready",
    "ready_containers",
    "total_containers",
    "restarts",
    "node_name",
    "pod_ip",
    "template_hash",
    "owner_uid",
    "owner_kind",
    "owner_name",
    "workload_uid",
    "cluster_id",
)


# --- helpers ----------------------------------------------------------------------------------------------------------


def _selector_q(text: str) -> Q:
    q = Q()
    for key, op, values in presenters.parse_label_selector(text):
        lookup = f"labels__{key}"
        has = Q(labels__has_key=key)
        if op == "=":
            q &= Q(**{lookup: values[0]})
        elif op == "!=":
            q &= ~has | ~Q(**{lookup: values[0]})
        elif op == "in":
            q &= Q(**{f"{lookup}__in": values})
        elif op == "notin":
            q &= ~has | ~Q(**{f"{lookup}__in": values})
        elif op == "exists":
            q &= has
        else:
            q &= ~has
    return q


def _with_status(workloads: list[Workload]) -> list[Workload]:
    for w in workloads:
        status = presenters.workload_status(
            w.kind, w.raw or {}, desired=w.desired_replicas, ready=w.ready_replicas, updated=w.updated_replicas
        )
        w.status = status
    return workloads


# --- overview ---------------------------------------------------------------------------------------------------------


@dataclass
class NamespaceSummary:
    name: str
    workloads: dict
    workload_total: int = 0
    pods: int = 0
    pods_ready: int = 0
    pods_pending: int = 0
    pods_failed: int = 0
    pods_succeeded: int = 0


@permission_required(roles.VIEW, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    # The header pickers submit here; without JavaScript too, so send the person where they pointed.
    if picked := request.GET.get("cluster"):
        cluster = Cluster.objects.filter(name=picked).first()
        if cluster:
            namespace = request.GET.get("namespace", "")
            if (
                namespace
                and Namespace.objects.filter(cluster=cluster, name=namespace).exists()
                and access.may_see(cluster, namespace)
            ):
                return redirect("workloads:namespace", cluster.name, namespace)
            return redirect("workloads:cluster_workloads", cluster.name)
    context = overview_context()
    context["live_url"] = subscriptions.page_url(context["live_groups"], request.get_full_path())
    return render(request, "workloads/overview.html", context)


def overview_context() -> dict:
    """What the overview shows; the live consumer calls it too, to re-render the same partial."""
    clusters = list(Cluster.objects.filter(enabled=True))
    summaries: dict[int, dict[str, NamespaceSummary]] = defaultdict(dict)

    def summary(cluster_id: int, name: str) -> NamespaceSummary:
        return summaries[cluster_id].setdefault(name, NamespaceSummary(name, defaultdict(int)))

    for cluster_id, name in Namespace.objects.live().values_list("cluster_id", "name"):
        summary(cluster_id, name)
    # Per cluster that acts as the person: the kinds they may list in each namespace (counts of others are hidden).
    listed = {c.id: access.kinds_shown(c) for c in clusters}

    def counted(cluster_id: int, namespace: str, kind: str) -> bool:
        allowed_kinds = listed.get(cluster_id)
        return allowed_kinds is None or kind in allowed_kinds.get(namespace, set())

    rows = (
        Workload.objects.live()
        .filter(owner_uid="")
        .values("cluster_id", "namespace", "health", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        if not counted(row["cluster_id"], row["namespace"], row["kind"]):
            continue
        s = summary(row["cluster_id"], row["namespace"])
        s.workloads[row["health"]] += row["n"]
        s.workload_total += row["n"]
    pod_rows = (
        Pod.objects.live()
        .values("cluster_id", "namespace")
        .annotate(
            n=Count("id"),
            ready=Count("id", filter=Q(ready=True, phase="Running")),
            pending=Count("id", filter=Q(phase="Pending")),
            failed=Count("id", filter=Q(phase="Failed")),
            succeeded=Count("id", filter=Q(phase="Succeeded")),
        )
        .order_by()
    )
    for row in pod_rows:
        if not counted(row["cluster_id"], row["namespace"], "Pod"):
            continue
        s = summary(row["cluster_id"], row["namespace"])
        s.pods, s.pods_ready, s.pods_pending = row["n"], row["ready"], row["pending"]
        s.pods_failed, s.pods_succeeded = row["failed"], row["succeeded"]
    health_order = [h for h, _label in Workload.Health.choices]
    for c in clusters:
        allowed_kinds = listed.get(c.id)
        shown = None if allowed_kinds is None else set(allowed_kinds)
        found = summaries.get(c.id, {}).values()
        c.namespace_summaries = sorted((s for s in found if shown is None or s.name in shown), key=lambda s: s.name)
        c.nothing_shown = access.why_nothing(c) if shown is not None and not shown else ""
        for s in c.namespace_summaries:
            s.health_counts = [(h, Workload.Health(h).label, s.workloads[h]) for h in health_order if s.workloads[h]]
    # One group for every namespace of a cluster: the overview follows all of them, however many there are.
    groups = [g for c in clusters for g in (live.cluster_group(c.id), live.all_namespaces_group(c.id))]
    followed = groups[: subscriptions.MAX_SUBSCRIPTIONS]
    return {
        "clusters": clusters,
        "live_groups": followed,
        # More clusters than one socket may follow: the page says which it does not (their own pages do).
        "unfollowed_clusters": [c for c in clusters if live.all_namespaces_group(c.id) not in followed],
    }


# --- lists ------------------------------------------------------------------------------------------------------------


@permission_required(roles.VIEW, raise_exception=True)
def cluster_workloads(request: HttpRequest, cluster: str) -> HttpResponse:
    return _workload_list(
        request, lookups.cluster_or_404(cluster), request.GET.get("namespace", ""), namespace_page=False
    )


@permission_required(roles.VIEW, raise_exception=True)
def namespace_detail(request: HttpRequest, cluster: str, namespace: str) -> HttpResponse:
    c = lookups.cluster_or_404(cluster)
    lookups.check_namespace(c, namespace)
    return _workload_list(request, c, namespace, namespace_page=True)


def namespace_context(c: Cluster, namespace: str, params: QueryDict) -> dict:
    """A namespace's list, once the namespace is known (the live consumer's entry to ``list_context``)."""
    lookups.check_namespace(c, namespace)
    return list_context(c, namespace, params, namespace_page=True)


def _workload_list(request: HttpRequest, cluster: Cluster, namespace: str, *, namespace_page: bool) -> HttpResponse:
    context = list_context(cluster, namespace, request.GET, namespace_page=namespace_page)
    context["live_url"] = subscriptions.page_url(context["live_groups"], request.get_full_path())
    if request.htmx and request.htmx.target == "workload-table":
        # The filters changed: swap the table, and reconnect the live socket for the new query.
        table = render_to_string("workloads/workload_list.html#workload-table", context, request=request)
        socket = render_to_string("workloads/_live.html", {**context, "oob": True}, request=request)
        return HttpResponse(table + socket)
    return render(request, "workloads/workload_list.html", context)


def list_context(cluster: Cluster, namespace: str, params: QueryDict, *, namespace_page: bool) -> dict:
    """A workload (or Pod) list; the live consumer calls it too, to re-render the same partials."""
    kind = params.get("kind", "")
    if kind not in kinds.LISTED_KINDS:
        kind = ""
    label = params.get("label", "").strip()
    text = params.get("q", "").strip()
    show_deleted = params.get("deleted") == "1"
    pods_mode = kind == "Pod"
    sorts = POD_SORTS if pods_mode else WORKLOAD_SORTS
    sort = params.get("sort", "name")
    if sort.lstrip("-") not in sorts:
        sort = "name"
    order = list(sorts[sort.lstrip("-")])
    if sort.startswith("-"):
        order = [o[1:] if o.startswith("-") else f"-{o}" for o in order]

    model = Pod if pods_mode else Workload
    qs = model.objects.filter(cluster=cluster)
    if namespace:
        qs = qs.filter(namespace=namespace)
    kind_hidden = ""
    if (shown := access.kinds_shown(cluster)) is not None:
        # Only the kinds the person may list, namespace by namespace.
        listed = {ns: allowed_kinds for ns, allowed_kinds in shown.items() if not namespace or ns == namespace}
        if pods_mode:
            qs = qs.filter(namespace__in=[ns for ns, allowed_kinds in listed.items() if "Pod" in allowed_kinds])
        else:
            allowed = Q(pk__in=[])
            for ns, allowed_kinds in listed.items():
                allowed |= Q(namespace=ns, kind__in=allowed_kinds)
            qs = qs.filter(allowed)
        if namespace and (kind or pods_mode):
            kind_hidden = access.not_listed(cluster, namespace, kind)
    if not show_deleted:
        qs = qs.live()
    if pods_mode:
        qs = qs.only(*POD_LIST_FIELDS)
        if text:
            qs = qs.filter(Q(name__icontains=text) | Q(node_name__icontains=text) | Q(pod_ip__icontains=text))
    else:
        # Top-level workloads by default; a Deployment's ReplicaSets and a CronJob's Jobs show on its page.
        qs = qs.filter(kind=kind) if kind else qs.filter(owner_uid="")
        if text:
            qs = qs.filter(Q(name__icontains=text) | Q(images__icontains=text))
    selector_error = ""
    if label:
        try:
            qs = qs.filter(_selector_q(label))
        except presenters.SelectorError as exc:
            selector_error = str(exc)
    qs = qs.order_by(*order)
    page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    rows = list(page.object_list)
    if not pods_mode:
        _with_status(rows)

    bare_pods = None
    if namespace_page and not pods_mode and not (kind or label or text) and access.may_list(cluster, namespace, "Pod"):
        bare_qs = Pod.objects.live().filter(cluster=cluster, namespace=namespace, owner_uid="")
        bare_pods = list(bare_qs.only(*POD_LIST_FIELDS).order_by("name")[:PAGE_SIZE])

    context = {
        "cluster": cluster,
        "namespace": namespace,
        "namespace_page": namespace_page,
        "kind": kind,
        "label": label,
        "q": text,
        "sort": sort,
        "show_deleted": show_deleted,
        "pods_mode": pods_mode,
        "page": page,
        "rows": rows,
        "kind_choices": kinds.LISTED_KINDS,
        "selector_error": selector_error,
        "kind_hidden": kind_hidden,
        "bare_pods": bare_pods,
        "live_groups": _list_groups(cluster, namespace),
    }
    return context


def _list_groups(cluster: Cluster, namespace: str) -> list[str]:
    """A namespace's list follows that namespace; the all-namespaces list follows every namespace (one group)."""
    if namespace:
        return [live.cluster_group(cluster.id), live.namespace_group(cluster.id, namespace)]
    return [live.cluster_group(cluster.id), live.all_namespaces_group(cluster.id)]


# --- workload ---------------------------------------------------------------------------------------------------------


def _revision_url(w: Workload, rev: presenters.Revision) -> str:
    if rev.uid == w.uid:
        return ""
    if rev.has_page:
        return reverse("workloads:workload", args=[w.cluster.name, w.namespace, rev.kind.lower(), rev.name])
    return reverse("workloads:yaml", args=[w.cluster.name, w.namespace, rev.kind.lower(), rev.name])


def _ring(c: Cluster, namespace: str, around: related.Around) -> list[presenters.RingItem]:
    """The ownership tree's second ring: what is missing or in trouble first, then Services, the autoscaler, the
    budgets, the ConfigMaps and Secrets that exist, and claims (the tree shows the first few). The boxes are narrow,
    so the long kinds go by kubectl's short names (HPA, PDB, PVC)."""
    missing, present = [], []
    seen: set[tuple[str, str]] = set()
    for r in around.references:
        if r.hidden or (r.ref.kind, r.ref.name) in seen:
            continue
        seen.add((r.ref.kind, r.ref.name))
        if not r.exists:
            if not r.ref.optional:
                missing.append(presenters.RingItem(r.ref.kind, r.ref.name, _("not found"), "", "box-failed"))
            continue
        slug = "configmap" if r.ref.kind == "ConfigMap" else "secret"
        url = reverse(f"workloads:{slug}", args=[c.name, namespace, r.ref.name])
        css = "box-failed" if r.problem else "box-around"
        present.append(presenters.RingItem(r.ref.kind, r.ref.name, _("key not found") if r.problem else "", url, css))
    services = [
        presenters.RingItem(
            "Service",
            s.service.name,
            _("%(r)s of %(t)s ready") % {"r": s.ready, "t": s.endpoints},
            reverse("workloads:service", args=[c.name, namespace, s.service.name]),
            "box-degraded" if s.ready < s.endpoints else "box-around",
        )
        for s in around.services
    ]
    others = []
    if (hpa := around.autoscaler) is not None:
        spec = hpa.raw.get("spec") or {}
        sub = _("%(min)s to %(max)s replicas") % {"min": spec.get("minReplicas", 1), "max": spec.get("maxReplicas")}
        others.append(presenters.RingItem("HPA", hpa.name, sub, ""))
    for budget in around.budgets:
        allowed = (budget.raw.get("status") or {}).get("disruptionsAllowed") or 0
        sub = _("%(n)s disruptions allowed") % {"n": allowed}
        others.append(presenters.RingItem("PDB", budget.name, sub, "", "box-degraded" if not allowed else "box-around"))
    claims = [
        presenters.RingItem("PVC", claim.name, (claim.raw.get("status") or {}).get("phase", ""), "")
        for claim in around.claims
    ]
    return [*missing, *services, *others, *present, *claims]


@permission_required(roles.VIEW, raise_exception=True)
def workload_detail(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    context = workload_context(lookups.cluster_or_404(cluster), namespace, kind, name, request.GET)
    context["live_url"] = subscriptions.page_url(context["live_groups"], request.get_full_path())
    template_name = "workloads/workload_detail.html"
    if request.htmx and request.htmx.target == f"pods-{context['w'].uid}":
        template_name += "#workload-pods"
    return render(request, template_name, context)


def workload_context(c: Cluster, namespace: str, kind: str, name: str, params: QueryDict) -> dict:
    """One workload's page; the live consumer calls it too, to re-render the same partials."""
    w = lookups.workload_or_404(c, namespace, kind, name)
    _with_status([w])
    revisions = lookups.revisions_of(w)
    rev_uids = [r.uid for r in revisions]
    pods = list(w.pods().only(*POD_LIST_FIELDS).order_by("name"))
    if pods_hidden := access.not_listed(c, namespace, "Pod"):
        pods = []  # the cluster does not let the person list them: the card says so
    groups = presenters.group_pods(
        kind=w.kind, name=w.name, raw=w.raw, current_column=w.current_revision, revisions=revisions, pods=pods
    )
    show_all = params.get("pods") == "all"
    for g in groups:
        g.shown = g.pods if show_all else g.pods[:PODS_PER_GROUP]

    def pod_url(p: Pod) -> str:
        return reverse("workloads:pod", args=[c.name, p.namespace, p.name])

    listed = access.kinds_shown(c)  # what the person may list, when the cluster acts as them
    around = related.around(w, pods, None if listed is None else listed.get(namespace, set()))
    tree = presenters.ownership_tree(
        root_kind=w.kind,
        root_name=w.name,
        root_css=w.status.health,
        groups=groups,
        pod_url=pod_url,
        revision_url=lambda rev: _revision_url(w, rev),
        around=_ring(c, namespace, around),
    )
    for box in tree.boxes:
        box.label_short = box.label if len(box.label) <= 26 else box.label[:25] + "…"
    for g in groups:
        g.url = _revision_url(w, g.revision) if g.revision else ""
    involved = [w.uid, *rev_uids, *(p.uid for p in pods)]
    events = list(
        Event.objects.live()
        .filter(cluster=c, involved_uid__in=involved)
        .defer("raw")
        .order_by("-last_seen", "-id")[:EVENTS_SHOWN]
    )
    if events_hidden := access.not_listed(c, namespace, "Event"):
        events = []
    meta = w.raw.get("metadata") or {}
    context = {
        "cluster": c,
        "namespace": namespace,
        "w": w,
        "spec": w.raw.get("spec") or {},
        "strategy": (w.raw.get("spec") or {}).get("strategy") or (w.raw.get("spec") or {}).get("updateStrategy") or {},
        "conditions": (w.raw.get("status") or {}).get("conditions") or [],
        "annotations": redaction.redact_annotations(meta.get("annotations") or {}),
        "template": presenters.template_view(w.pod_template),
        "groups": groups,
        "pod_total": len(pods),
        "pods_hidden": pods_hidden,
        "show_all": show_all,
        "pods_per_group": PODS_PER_GROUP,
        "tree": tree,
        "events": events,
        "events_hidden": events_hidden,
        "owner": _owner_of(c, w.owner_uid) if w.owner_uid else None,
        "around": around,
        "around_hidden": access.none_listed(c, namespace, list(related.AROUND_KINDS)),
        "live_groups": [live.cluster_group(c.id), live.workload_group(c.id, w.uid)],
    }
    return context


# --- Pods -------------------------------------------------------------------------------------------------------------


@dataclass
class ChainLink:
    kind: str
    name: str
    url: str


def _owner_of(c: Cluster, uid: str) -> ChainLink | None:
    w = Workload.objects.filter(cluster=c, uid=uid).first()
    if w:
        w.cluster = c
        return ChainLink(w.kind, w.name, lookups.workload_url(w))
    return None


def _owner_chain(c: Cluster, pod: Pod) -> list[ChainLink]:
    """Pod -> ReplicaSet -> Deployment (or Job -> CronJob, or StatefulSet/DaemonSet), following owner uids."""
    chain: list[ChainLink] = []
    refs = (pod.raw.get("metadata") or {}).get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    uid = (ref or {}).get("uid") or pod.owner_uid
    kind, name = (ref or {}).get("kind") or pod.owner_kind, (ref or {}).get("name") or pod.owner_name
    seen = set()
    while uid and uid not in seen and len(chain) < 5:
        seen.add(uid)
        w = Workload.objects.filter(cluster=c, uid=uid).first()
        if w:
            w.cluster = c
            chain.append(ChainLink(w.kind, w.name, lookups.workload_url(w)))
            uid = w.owner_uid
            continue
        tr = TemplateRevision.objects.filter(cluster=c, uid=uid).first()
        if tr:
            chain.append(
                ChainLink(
                    tr.source_kind,
                    tr.name,
                    reverse("workloads:yaml", args=[c.name, tr.namespace, tr.source_kind.lower(), tr.name]),
                )
            )
            uid = tr.workload_uid
            continue
        # Owned by something the mirror does not keep (or has not synced yet): name it, without a link.
        chain.append(ChainLink(kind or "?", name or uid, ""))
        break
    return chain


@permission_required(roles.VIEW, raise_exception=True)
def pod_detail(request: HttpRequest, cluster: str, namespace: str, name: str) -> HttpResponse:
    context = pod_context(lookups.cluster_or_404(cluster), namespace, name)
    context["live_url"] = subscriptions.page_url(context["live_groups"], request.get_full_path())
    template_name = "workloads/pod_detail.html"
    if request.htmx and request.htmx.target == f"pod-{context['pod'].uid}":
        template_name += "#pod-card"
    return render(request, template_name, context)


def pod_context(c: Cluster, namespace: str, name: str) -> dict:
    """One Pod's page; the live consumer calls it too, to re-render the same partials."""
    lookups.check_visible(c, namespace)
    lookups.check_kind(c, namespace, "Pod")
    pod = lookups.live_first(Pod.objects.filter(cluster=c, namespace=namespace, name=name))
    raw = pod.raw or {}
    status = raw.get("status") or {}
    spec = raw.get("spec") or {}
    events = list(
        Event.objects.live()
        .filter(cluster=c, involved_uid=pod.uid)
        .defer("raw")
        .order_by("-last_seen", "-id")[:EVENTS_SHOWN]
    )
    if events_hidden := access.not_listed(c, namespace, "Event"):
        events = []
    ips = [p.get("ip") for p in status.get("podIPs") or [] if p.get("ip")] or ([pod.pod_ip] if pod.pod_ip else [])
    meta = raw.get("metadata") or {}
    context = {
        "cluster": c,
        "namespace": namespace,
        "pod": pod,
        "status_text": presenters.pod_status_text(raw) if raw else (pod.status_text or pod.phase),
        "state": presenters.pod_state(pod.phase, pod.ready, pod.status_text),
        "template": presenters.template_view({"metadata": meta, "spec": spec}, raw),
        "conditions": status.get("conditions") or [],
        "ips": ips,
        "host_ip": status.get("hostIP", ""),
        "qos": status.get("qosClass", ""),
        "chain": _owner_chain(c, pod),
        "events": events,
        "events_hidden": events_hidden,
        "spec": spec,
        "live_groups": [live.cluster_group(c.id), live.pod_group(c.id, pod.uid)],
    }
    return context


# --- YAML -------------------------------------------------------------------------------------------------------------


@permission_required(roles.VIEW, raise_exception=True)
def object_yaml(request: HttpRequest, cluster: str, namespace: str, kind: str, name: str) -> HttpResponse:
    c = lookups.cluster_or_404(cluster)
    lookups.check_visible(c, namespace)
    obj: object
    if kind in ("pods", "pod"):
        obj = lookups.live_first(Pod.objects.filter(cluster=c, namespace=namespace, name=name))
        kind_name = "Pod"
    elif kind == "controllerrevision":
        obj = lookups.live_first(TemplateRevision.objects.filter(cluster=c, namespace=namespace, name=name))
        kind_name = "ControllerRevision"
    elif kind in kinds.KIND_SLUGS:
        kind_name = kinds.KIND_SLUGS[kind]
        rows = Workload.objects.filter(cluster=c, namespace=namespace, kind=kind_name, name=name)
        if rows.exists():
            obj = lookups.live_first(rows)
        else:
            obj = lookups.live_first(
                TemplateRevision.objects.filter(cluster=c, namespace=namespace, source_kind=kind_name, name=name)
            )
    else:
        raise Http404(_("Unknown kind %(k)s") % {"k": kind})
    lookups.check_kind(c, namespace, kind_name)
    text = yaml.safe_dump(redaction.redacted_for_yaml(obj.raw or {}), sort_keys=False, allow_unicode=True)
    back = ""
    if kind_name == "Pod":
        back = reverse("workloads:pod", args=[c.name, namespace, name])
    elif isinstance(obj, Workload):
        obj.cluster = c
        back = lookups.workload_url(obj)
    context = {"cluster": c, "namespace": namespace, "obj": obj, "kind_name": kind_name, "text": text, "back": back}
    return render(request, "workloads/yaml.html", context)
