"""Writing batches of watch events to the mirror: one transaction, bulk upserts keyed by uid,
guarded by resourceVersion so that a stale event never overwrites a newer row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from workloads.models import Event, Namespace, Node, Pod, TemplateRevision, Workload
from workloads.sync import rows

Obj = dict[str, Any]

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet"}


@dataclass
class Changed:
    """What a batch touched, for the live layer: namespaces, workloads and Pods by uid."""

    namespaces: set[str] = field(default_factory=set)
    workload_uids: set[str] = field(default_factory=set)
    pod_uids: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.workload_uids or self.pod_uids or self.kinds)

    def merge(self, other: Changed) -> None:
        self.namespaces |= other.namespaces
        self.workload_uids |= other.workload_uids
        self.pod_uids |= other.pod_uids
        self.kinds |= other.kinds


def _columns_for(kind: str, obj: Obj) -> dict[str, Any]:
    if kind in WORKLOAD_KINDS:
        return rows.workload_columns(kind, obj)
    if kind == "Pod":
        return rows.pod_columns(obj)
    if kind == "Event":
        return rows.event_columns(obj)
    if kind == "Namespace":
        return rows.namespace_columns(obj)
    if kind == "Node":
        return rows.node_columns(obj)
    return {}


MODEL_FOR: dict[str, type[models.Model]] = {
    "Namespace": Namespace,
    "Node": Node,
    "Pod": Pod,
    "Event": Event,
    "ControllerRevision": TemplateRevision,
    **{k: Workload for k in WORKLOAD_KINDS},
}


def _upsert(model: type[models.Model], cluster_id: int, objs: list[Obj], columns: list[dict[str, Any]]) -> None:
    if not objs:
        return
    instances = [model(cluster_id=cluster_id, deleted_at=None, **cols) for cols in columns]
    update_fields = [
        f.name for f in model._meta.concrete_fields if f.name not in ("id", "cluster", "uid") and not f.primary_key
    ]
    model.objects.bulk_create(
        instances, update_conflicts=True, unique_fields=["cluster", "uid"], update_fields=update_fields, batch_size=500
    )


def _fresh(
    model: type[models.Model], cluster_id: int, latest: dict[str, tuple[str, Obj]]
) -> dict[str, tuple[str, Obj]]:
    """Drop events older than what the row already holds."""
    stored = dict(
        model.objects.filter(cluster_id=cluster_id, uid__in=list(latest)).values_list("uid", "resource_version")
    )
    return {uid: ev for uid, ev in latest.items() if rows.resource_version(ev[1]) > stored.get(uid, -1)}


def apply_events(cluster_id: int, kind: str, events: Iterable[tuple[str, Obj]]) -> Changed:
    """Apply ADDED/MODIFIED/DELETED events of one kind; BOOKMARKs must be filtered out before."""
    latest: dict[str, tuple[str, Obj]] = {}
    for type_, obj in events:
        uid = (obj.get("metadata") or {}).get("uid")
        if not uid:
            continue
        previous = latest.get(uid)
        if previous is None or rows.resource_version(obj) >= rows.resource_version(previous[1]):
            latest[uid] = (type_, obj)
    changed = Changed(kinds={kind})
    if not latest:
        return changed
    model = MODEL_FOR[kind]
    with transaction.atomic():
        latest = _fresh(model, cluster_id, latest)
        live = [(t, o) for t, o in latest.values() if t != "DELETED"]
        gone = [(t, o) for t, o in latest.values() if t == "DELETED"]
        columns = [rows.base_columns(o) | _columns_for(kind, o) for _, o in live]
        if kind == "ControllerRevision":
            columns = [rows.base_columns(o) | rows.template_revision_columns(kind, o) for _, o in live]
        _upsert(model, cluster_id, [o for _, o in live], columns)
        if kind == "ReplicaSet":
            _upsert(
                TemplateRevision,
                cluster_id,
                [o for _, o in live],
                [rows.base_columns(o) | rows.template_revision_columns(kind, o) for _, o in live],
            )
        if gone:
            _mark_deleted(cluster_id, kind, {(o["metadata"]["uid"], rows.resource_version(o)) for _, o in gone})
        _link_owners(cluster_id, kind, latest)
        _collect_changes(cluster_id, kind, list(latest.values()), changed)
    return changed


def _mark_deleted(cluster_id: int, kind: str, gone: set[tuple[str, int]]) -> None:
    now = timezone.now()
    models_ = [MODEL_FOR[kind]] + ([TemplateRevision] if kind == "ReplicaSet" else [])
    for model in models_:
        for uid, rv in gone:
            model.objects.filter(cluster_id=cluster_id, uid=uid).update(deleted_at=now, resource_version=rv)


def _link_owners(cluster_id: int, kind: str, latest: dict[str, tuple[str, Obj]]) -> None:
    """Resolve each Pod's top workload (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob),
    whichever of them arrived first."""
    if kind == "Pod":
        owner_uids = {rows.controller_ref(o).get("uid") for _, o in latest.values()} - {None, ""}
        parents = dict(
            Workload.objects.filter(cluster_id=cluster_id, uid__in=owner_uids, kind__in=["ReplicaSet", "Job"])
            .exclude(owner_uid="")
            .values_list("uid", "owner_uid")
        )
        pods = Pod.objects.filter(cluster_id=cluster_id, uid__in=list(latest))
        for owner_uid in owner_uids:
            pods.filter(owner_uid=owner_uid).update(workload_uid=parents.get(owner_uid, owner_uid))
    elif kind in ("ReplicaSet", "Job"):
        for type_, obj in latest.values():
            if type_ == "DELETED":
                continue
            parent = rows.controller_ref(obj).get("uid") or obj["metadata"]["uid"]
            Pod.objects.filter(cluster_id=cluster_id, owner_uid=obj["metadata"]["uid"]).exclude(
                workload_uid=parent
            ).update(workload_uid=parent)


def _collect_changes(cluster_id: int, kind: str, events: list[tuple[str, Obj]], changed: Changed) -> None:
    for _, obj in events:
        m = obj.get("metadata") or {}
        if m.get("namespace"):
            changed.namespaces.add(m["namespace"])
        if kind in WORKLOAD_KINDS:
            changed.workload_uids.add(m["uid"])
            owner = rows.controller_ref(obj).get("uid")
            if owner:
                changed.workload_uids.add(owner)
        elif kind == "ControllerRevision":
            owner = rows.controller_ref(obj).get("uid")
            if owner:
                changed.workload_uids.add(owner)
        elif kind == "Pod":
            changed.pod_uids.add(m["uid"])
        elif kind == "Event":
            involved = obj.get("involvedObject") or {}
            if involved.get("kind") == "Pod":
                changed.pod_uids.add(involved.get("uid", ""))
            elif involved.get("uid"):
                changed.workload_uids.add(involved["uid"])
    if kind in ("Pod", "Event"):
        pod_uids = changed.pod_uids - {""}
        changed.workload_uids |= set(
            Pod.objects.filter(cluster_id=cluster_id, uid__in=pod_uids)
            .exclude(workload_uid="")
            .values_list("workload_uid", flat=True)
        )
        changed.workload_uids |= set(
            Workload.objects.filter(cluster_id=cluster_id, uid__in=list(changed.workload_uids), kind="ReplicaSet")
            .exclude(owner_uid="")
            .values_list("owner_uid", flat=True)
        )
    changed.workload_uids.discard("")


def replace_all(cluster_id: int, kind: str, pages: Iterable[tuple[list[Obj], str]]) -> tuple[Changed, str, int]:
    """After a full, paged list: upsert everything listed page by page (memory stays bounded by a
    page), then mark deleted every row of this kind the list no longer has (objects deleted while
    nobody watched). Returns (what changed, the list's resourceVersion, how many objects)."""
    changed = Changed(kinds={kind})
    listed: set[str] = set()
    list_resource_version = ""
    for objs, page_version in pages:
        list_resource_version = page_version
        changed.merge(apply_events(cluster_id, kind, [("ADDED", o) for o in objs]))
        listed.update((o.get("metadata") or {}).get("uid") for o in objs)
    model = MODEL_FOR[kind]
    stale = model.objects.filter(cluster_id=cluster_id, deleted_at__isnull=True)
    if model is Workload:
        stale = stale.filter(kind=kind)
    elif model is TemplateRevision:
        stale = stale.filter(source_kind=kind)
    version = int(list_resource_version or 0)
    stale = stale.filter(resource_version__lte=version)
    gone = [(uid, ns) for uid, ns in stale.values_list("uid", "namespace") if uid not in listed]
    if gone:
        with transaction.atomic():
            _mark_deleted(cluster_id, kind, {(uid, version) for uid, _ in gone})
        changed.namespaces |= {ns for _, ns in gone if ns}
        if kind in WORKLOAD_KINDS:
            changed.workload_uids |= {uid for uid, _ in gone}
        if kind == "Pod":
            changed.pod_uids |= {uid for uid, _ in gone}
    return changed, list_resource_version, len(listed)
