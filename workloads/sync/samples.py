"""Rollout timeline points, recorded after each batch that touched a rolling workload."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from workloads import kinds
from workloads.models import Pod, RolloutSample, TemplateRevision, Workload
from workloads.sync import sql

# Workloads whose last point was not settled (not every desired Pod ready on the current template),
# in this process: their Pods' changes still move the timeline after the workload itself looks done.
_unsettled: set[tuple[int, str]] = set()
KEEP = timedelta(days=7)


class _Counts(NamedTuple):
    """What a point reads of its workload's row."""

    pk: int
    uid: str
    kind: str
    health: str
    desired: int
    updated: int
    available: int


def current_template_hashes(cluster_id: int, workloads: list[_Counts]) -> dict[str, str]:
    """{uid: the template hash Pods of its current template carry}, one query for them all: a
    StatefulSet names it in its status, the others by their newest revision."""
    stateful = [w.pk for w in workloads if w.kind == "StatefulSet"]
    hashes = {}
    if stateful:
        hashes = {
            uid: revision or ""
            for uid, revision in Workload.objects.filter(pk__in=stateful).values_list(
                "uid", "raw__status__updateRevision"
            )
        }
    if others := [w.uid for w in workloads if w.kind != "StatefulSet"]:
        placeholders, uids = sql.among(others)
        newest = sql.fetch(
            f"SELECT workload_uid, template_hash FROM {sql.table(TemplateRevision)} WHERE cluster_id = %s"
            f" AND workload_uid IN ({placeholders}) AND deleted_at IS NULL ORDER BY workload_uid, revision",
            [cluster_id, *uids],
        )
        hashes.update(dict(newest))  # ordered by revision: the newest of each workload comes last and stays
    return hashes


POINT_FIELDS = ("revision", "desired", "updated", "ready", "available", "new_ready")
# Newest points are looked up this many workloads to a query (SQLite allows 500 SELECTs in one compound); one of
# sql.among's widths.
LAST_AT_ONCE = 256


def last_points(cluster_id: int, uids: list[str]) -> dict[str, dict[str, Any]]:
    """{uid: its newest point's fields}: each workload's newest point found through the (cluster, workload, at)
    index, however many points it has."""
    newest = (
        f"SELECT * FROM (SELECT workload_uid, {', '.join(POINT_FIELDS)} FROM {sql.table(RolloutSample)}"
        " WHERE cluster_id = %s AND workload_uid = %s ORDER BY at DESC, id DESC LIMIT 1) AS newest"
    )
    last = {}
    for start in range(0, len(uids), LAST_AT_ONCE):
        # As wide as sql.among's lists (a repeated workload finds the same point), so that the few texts stay
        # prepared: preparing a compound of 50 took three times as long as running it.
        _, chunk = sql.among(uids[start : start + LAST_AT_ONCE])
        found = sql.fetch(" UNION ALL ".join([newest] * len(chunk)), [p for uid in chunk for p in (cluster_id, uid)])
        last.update({uid: dict(zip(POINT_FIELDS, values, strict=True)) for uid, *values in found})
    return last


def record(cluster_id: int, workload_uids: set[str], *, only_rolling: bool = False) -> None:
    """Record a point for each workload whose counts moved, with a fixed number of queries however
    many workloads there are. With ``only_rolling`` (a batch of Pod changes) only workloads that are
    not settled are looked at: a healthy workload's Pods churning is not a rollout."""
    asked = list(workload_uids - {""})
    if not asked:
        return
    # Only the columns a point needs: the whole object (raw) would be read and parsed per workload per batch.
    among_asked, asked = sql.among(asked)
    among_kinds, rolling_kinds = sql.among(kinds.ROLLING_KINDS)
    workloads = [
        _Counts(*row)
        for row in sql.fetch(
            "SELECT id, uid, kind, health, desired_replicas, updated_replicas, available_replicas"
            f" FROM {sql.table(Workload)} WHERE cluster_id = %s AND uid IN ({among_asked})"
            f" AND kind IN ({among_kinds}) AND deleted_at IS NULL",
            [cluster_id, *asked, *rolling_kinds],
        )
    ]
    if only_rolling:
        workloads = [w for w in workloads if w.health != Workload.Health.HEALTHY or (cluster_id, w.uid) in _unsettled]
    if not workloads:
        return
    uids = [w.uid for w in workloads]
    hashes = current_template_hashes(cluster_id, workloads)
    ready: dict[str, int] = {}
    new_ready: dict[str, int] = {}
    placeholders, padded = sql.among(uids)
    counted = sql.fetch(
        f"SELECT workload_uid, template_hash, COUNT(*) FROM {sql.table(Pod)} WHERE cluster_id = %s"
        f" AND workload_uid IN ({placeholders}) AND ready = %s AND deleted_at IS NULL"
        " GROUP BY workload_uid, template_hash",
        [cluster_id, *padded, True],
    )
    for uid, template_hash, n in counted:
        ready[uid] = ready.get(uid, 0) + n
        if template_hash == hashes.get(uid):
            new_ready[uid] = n
    fields = POINT_FIELDS
    last = last_points(cluster_id, uids)
    now = timezone.now()
    points = []
    for workload in workloads:
        point = {
            "revision": hashes.get(workload.uid, ""),
            "desired": workload.desired,
            "updated": workload.updated,
            "ready": ready.get(workload.uid, 0),
            "available": workload.available,
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
    columns = ", ".join(connection.ops.quote_name(c) for c in ("cluster_id", "workload_uid", "at", *fields))
    placeholders = ", ".join(["%s"] * (3 + len(fields)))
    insert = f"INSERT INTO {sql.table(RolloutSample)} ({columns}) VALUES ({placeholders})"
    at_value = connection.ops.adapt_datetimefield_value(at)
    # In one transaction: outside one, each row of executemany would be a commit of its own.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(insert, [(cluster, uid, at_value, *values) for cluster, uid, *values in points])


class Deferred:
    """The points a busy watcher owes, recorded together at most every ``every`` seconds rather than after each batch:
    a point reads the workloads' rows and counts their Pods (a few ms), and a busy cluster's ReplicaSets and
    Deployments came 30 to a batch, 10 batches a second. Each point is taken when it is recorded, so it shows the
    newest counts; a timeline loses nothing a person reads at a second's resolution."""

    def __init__(self, cluster_id: int, every: float) -> None:
        self.cluster_id, self.every = cluster_id, every
        self.owed: set[str] = set()
        self.owed_if_rolling: set[str] = set()
        self.recorded_at = time.monotonic()

    def add(self, workload_uids: set[str], *, only_rolling: bool = False) -> None:
        (self.owed_if_rolling if only_rolling else self.owed).update(workload_uids)

    def flush(self, *, now: bool = False) -> None:
        """Record what is owed: ``now``, or once ``every`` seconds have passed since the last time."""
        if not (self.owed or self.owed_if_rolling) or not (now or time.monotonic() - self.recorded_at >= self.every):
            return
        owed, if_rolling = self.owed, self.owed_if_rolling - self.owed
        self.owed, self.owed_if_rolling = set(), set()
        self.recorded_at = time.monotonic()
        record(self.cluster_id, owed)
        record(self.cluster_id, if_rolling, only_rolling=True)


def prune(cluster_id: int) -> None:
    RolloutSample.objects.filter(cluster_id=cluster_id, at__lt=timezone.now() - KEEP).delete()
