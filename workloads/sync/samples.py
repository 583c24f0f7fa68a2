"""Rollout timeline points, recorded after each batch that touched a rolling workload."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from workloads.models import Pod, RolloutSample, TemplateRevision, Workload

ROLLING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# Workloads whose last point was not settled (not every desired Pod ready on the current template),
# in this process: their Pods' changes still move the timeline after the workload itself looks done.
_unsettled: set[tuple[int, str]] = set()
KEEP = timedelta(days=7)


def current_template_hashes(cluster_id: int, workloads: list[Workload]) -> dict[str, str]:
    """{uid: the template hash Pods of its current template carry}, one query for them all: a
    StatefulSet names it in its status, the others by their newest revision."""
    stateful = [w.pk for w in workloads if w.kind == "StatefulSet"]
    hashes = {
        uid: revision or ""
        for uid, revision in Workload.objects.filter(pk__in=stateful).values_list("uid", "raw__status__updateRevision")
    }
    others = [w.uid for w in workloads if w.kind != "StatefulSet"]
    if others:
        newest = (
            TemplateRevision.objects.filter(cluster_id=cluster_id, workload_uid__in=others, deleted_at__isnull=True)
            .order_by("workload_uid", "revision")
            .values_list("workload_uid", "template_hash")
        )
        hashes.update(dict(newest))  # ordered by revision: the newest of each workload comes last and stays
    return hashes


def record(cluster_id: int, workload_uids: set[str], *, only_rolling: bool = False) -> None:
    """Record a point for each workload whose counts moved, with a fixed number of queries however
    many workloads there are. With ``only_rolling`` (a batch of Pod changes) only workloads that are
    not settled are looked at: a healthy workload's Pods churning is not a rollout."""
    if not workload_uids:
        return
    workloads = Workload.objects.filter(
        cluster_id=cluster_id, uid__in=workload_uids, kind__in=ROLLING_KINDS, deleted_at__isnull=True
    )
    if only_rolling:
        unsettled = [uid for uid in workload_uids if (cluster_id, uid) in _unsettled]
        workloads = workloads.filter(~Q(health=Workload.Health.HEALTHY) | Q(uid__in=unsettled))
    # Only the columns a point needs: the whole object (raw) would be read and parsed per workload per batch.
    workloads = list(workloads.only("uid", "kind", "desired_replicas", "updated_replicas", "available_replicas"))
    if not workloads:
        return
    uids = [w.uid for w in workloads]
    hashes = current_template_hashes(cluster_id, workloads)
    ready: dict[str, int] = {}
    new_ready: dict[str, int] = {}
    counted = (
        Pod.objects.filter(cluster_id=cluster_id, workload_uid__in=uids, deleted_at__isnull=True, ready=True)
        .order_by()
        .values("workload_uid", "template_hash")
        .annotate(n=Count("pk"))
        .values_list("workload_uid", "template_hash", "n")
    )
    for uid, template_hash, n in counted:
        ready[uid] = ready.get(uid, 0) + n
        if template_hash == hashes.get(uid):
            new_ready[uid] = n
    newest = RolloutSample.objects.filter(cluster_id=cluster_id, workload_uid=OuterRef("workload_uid")).order_by(
        "-at", "-pk"
    )
    fields = ("revision", "desired", "updated", "ready", "available", "new_ready")
    last = {
        row["workload_uid"]: {f: row[f] for f in fields}
        for row in RolloutSample.objects.filter(
            cluster_id=cluster_id, workload_uid__in=uids, pk=Subquery(newest.values("pk")[:1])
        ).values("workload_uid", *fields)
    }
    now = timezone.now()
    points = []
    for workload in workloads:
        point = {
            "revision": hashes.get(workload.uid, ""),
            "desired": workload.desired_replicas,
            "updated": workload.updated_replicas,
            "ready": ready.get(workload.uid, 0),
            "available": workload.available_replicas,
            "new_ready": new_ready.get(workload.uid, 0),
        }
        if last.get(workload.uid) != point:
            points.append((cluster_id, workload.uid, *(point[f] for f in fields)))
        if point["new_ready"] == point["ready"] == point["desired"]:
            _unsettled.discard((cluster_id, workload.uid))
        else:
            _unsettled.add((cluster_id, workload.uid))
    _insert(now, fields, points)


def _insert(at: datetime, fields: tuple[str, ...], points: list[tuple]) -> None:
    """One INSERT for the batch's points (cluster, workload, then ``fields``), all at the moment ``at``: not
    bulk_create's model instance and per-value preparation for each (a busy cluster records hundreds a second)."""
    if not points:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ("cluster_id", "workload_uid", "at", *fields))
    placeholders = ", ".join(["%s"] * (3 + len(fields)))
    sql = f"INSERT INTO {quote(RolloutSample._meta.db_table)} ({columns}) VALUES ({placeholders})"
    at_value = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(cluster, uid, at_value, *values) for cluster, uid, *values in points])


def prune(cluster_id: int) -> None:
    RolloutSample.objects.filter(cluster_id=cluster_id, at__lt=timezone.now() - KEEP).delete()
