"""Rollout timeline points, recorded after each batch that touched a rolling workload."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from workloads.models import Pod, RolloutSample, TemplateRevision, Workload

ROLLING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# Workloads whose last point was not settled (not every desired Pod ready on the current template),
# in this process: their Pods' changes still move the timeline after the workload itself looks done.
_unsettled: set[tuple[int, str]] = set()
KEEP = timedelta(days=7)


def current_template_hash(workload: Workload) -> str:
    """The template hash Pods of the current template carry."""
    if workload.kind == "StatefulSet":
        return (workload.raw.get("status") or {}).get("updateRevision") or ""
    latest = (
        TemplateRevision.objects.filter(
            cluster_id=workload.cluster_id, workload_uid=workload.uid, deleted_at__isnull=True
        )
        .order_by("-revision")
        .values_list("template_hash", flat=True)
        .first()
    )
    return latest or ""


def record(cluster_id: int, workload_uids: set[str], *, only_rolling: bool = False) -> None:
    """Record a point for each workload whose counts moved. With ``only_rolling`` (a batch of Pod
    changes) only workloads that are not settled are looked at: a healthy workload's Pods churning
    is not a rollout, and the check would cost a query per workload per batch."""
    workloads = Workload.objects.filter(
        cluster_id=cluster_id, uid__in=workload_uids, kind__in=ROLLING_KINDS, deleted_at__isnull=True
    )
    if only_rolling:
        unsettled = [uid for uid in workload_uids if (cluster_id, uid) in _unsettled]
        workloads = workloads.filter(~Q(health=Workload.Health.HEALTHY) | Q(uid__in=unsettled))
    now = timezone.now()
    for workload in workloads:
        template_hash = current_template_hash(workload)
        counts = Pod.objects.filter(
            cluster_id=cluster_id, workload_uid=workload.uid, deleted_at__isnull=True
        ).aggregate(
            ready_pods=Count("pk", filter=Q(ready=True)),
            new_ready_pods=Count("pk", filter=Q(ready=True, template_hash=template_hash)),
        )
        point = {
            "revision": template_hash,
            "desired": workload.desired_replicas,
            "updated": workload.updated_replicas,
            "ready": counts["ready_pods"],
            "available": workload.available_replicas,
            "new_ready": counts["new_ready_pods"],
        }
        last = (
            RolloutSample.objects.filter(cluster_id=cluster_id, workload_uid=workload.uid)
            .order_by("-at")
            .values(*point)
            .first()
        )
        if last != point:
            RolloutSample.objects.create(cluster_id=cluster_id, workload_uid=workload.uid, at=now, **point)
        if point["new_ready"] == point["ready"] == point["desired"]:
            _unsettled.discard((cluster_id, workload.uid))
        else:
            _unsettled.add((cluster_id, workload.uid))


def prune(cluster_id: int) -> None:
    RolloutSample.objects.filter(cluster_id=cluster_id, at__lt=timezone.now() - KEEP).delete()
