"""Looking a page's object up in the mirror, or 404: the cluster, a namespace the person may see, a kind they may
list there, the live row of a name (or its most recent deleted one), and a workload's revisions from its rows."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from workloads import access, kinds, objects
from workloads.browse import presenters
from workloads.models import Cluster, Namespace, Pod, TemplateRevision, Workload


def cluster_or_404(name: str) -> Cluster:
    return get_object_or_404(Cluster, name=name)


def check_visible(cluster: Cluster, namespace: str) -> None:
    """A namespace the signed-in person may not list (the cluster's RBAC, when it acts as them) is not found."""
    if not access.may_see(cluster, namespace):
        raise Http404(_("No namespace %(ns)s in cluster %(c)s") % {"ns": namespace, "c": cluster.name})


def check_kind(cluster: Cluster, namespace: str, kind: str) -> None:
    """An object of a kind the person may not list there is not found either, and the page says why."""
    if hidden := access.not_listed(cluster, namespace, kind):
        raise Http404(hidden)


def check_namespace(cluster: Cluster, namespace: str) -> None:
    """A namespace exists if the mirror knows it, or (before Namespaces are synced) anything lives in it."""
    check_visible(cluster, namespace)
    if Namespace.objects.live().filter(cluster=cluster, name=namespace).exists():
        return
    if Workload.objects.live().filter(cluster=cluster, namespace=namespace).exists():
        return
    if Pod.objects.live().filter(cluster=cluster, namespace=namespace).exists():
        return
    raise Http404(_("No namespace %(ns)s in cluster %(c)s") % {"ns": namespace, "c": cluster.name})


def live_first(qs: QuerySet) -> object:
    """The live object of that name, or else the most recently deleted one (kept for history)."""
    obj = qs.live().first() or qs.order_by("-deleted_at").first()
    if obj is None:
        raise Http404(_("Not found in the mirror"))
    return obj


def workload_or_404(cluster: Cluster, namespace: str, slug: str, name: str) -> Workload:
    """The workload a page's URL names (its live row, else its newest deleted one), in a namespace and of a kind
    the person may see: every page of one workload looks it up here."""
    kind = kinds.KIND_SLUGS.get(slug)
    if kind is None:
        raise Http404(_("Unknown kind %(k)s") % {"k": slug})
    check_visible(cluster, namespace)
    check_kind(cluster, namespace, kind)
    w = live_first(Workload.objects.filter(cluster=cluster, namespace=namespace, kind=kind, name=name))
    w.cluster = cluster
    return w


def workload_url(w: Workload) -> str:
    return reverse("workloads:workload", args=[w.cluster.name, w.namespace, w.kind.lower(), w.name])


def revisions_of(w: Workload) -> list[presenters.Revision]:
    """Every ReplicaSet / ControllerRevision / Job this workload made, from whichever rows the mirror has."""
    found: dict[str, presenters.Revision] = {}
    for tr in TemplateRevision.objects.live().filter(cluster_id=w.cluster_id, workload_uid=w.uid):
        found[tr.uid] = presenters.Revision(
            uid=tr.uid,
            kind=tr.source_kind,
            name=tr.name,
            revision=tr.revision,
            template_hash=tr.template_hash,
            pod_template=objects.revision_pod_template(tr.template, tr.raw, tr.source_kind),
            created_at=tr.created_at,
            change_cause=tr.change_cause,
        )
    owned = Workload.objects.live().filter(cluster_id=w.cluster_id, owner_uid=w.uid, kind__in=["ReplicaSet", "Job"])
    if w.kind in ("Job", "ReplicaSet"):
        owned = [w]
    for child in owned:
        annotations = (child.raw.get("metadata") or {}).get("annotations") or {}
        existing = found.get(child.uid)
        found[child.uid] = presenters.Revision(
            uid=child.uid,
            kind=child.kind,
            name=child.name,
            revision=existing.revision
            if existing
            else objects.as_int(annotations.get("deployment.kubernetes.io/revision")),
            template_hash=existing.template_hash if existing else (child.labels or {}).get("pod-template-hash", ""),
            pod_template=child.pod_template,
            created_at=child.created_at,
            change_cause=annotations.get("kubernetes.io/change-cause", ""),
            has_page=child.uid != w.uid,
        )
    return list(found.values())
