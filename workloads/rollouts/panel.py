"""The rollout panel's data for one workload: its state, budget, deadline, cause and timeline, from the mirror.
The ``rollout_panel`` template tag and the panel URL both get it from here. Pods are read from their columns, and
their whole objects only for those with something to say (``causes.needs_object``)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from workloads import kinds
from workloads.models import Event, Pod, RolloutSample, Workload
from workloads.rollouts import analysis as rollouts
from workloads.rollouts.causes import POD_FIELDS, PodRow
from workloads.rollouts.chart import timeline_chart

EVENTS_READ = 200
OBJECTS_KEPT = 2_000  # problem Pods whose parsed object is kept between renders (each a few kB)

# (cluster id, Pod uid) -> (its resourceVersion, its parsed object), for the Pods whose objects the panel reads
# (``needs_object``: not ready, pending, failing): during a rollout a live frame renders the panel again for a change
# to any Pod of the workload, and the objects of those that did not change are not read and parsed again.
_objects: dict[tuple[int, str], tuple[int, dict]] = {}


SAMPLES_SHOWN = 400


def panel_context(w: Workload) -> dict[str, Any]:
    """What the rollout panel of one workload shows (through the ``rollout_panel`` tag, so the workload page, its
    live frames and the panel URL all get it from here)."""
    if w.kind not in kinds.PANEL_KINDS or w.deleted_at is not None:
        return {"rollout": None}
    now = timezone.now()
    revisions = list(w.revisions())
    pods = pod_rows(w)
    rollout = rollouts.analyse(
        {**w.raw, "kind": w.kind},
        revisions=[{**r.raw, "kind": r.source_kind} for r in revisions],
        pods=pods,
        events=readiness_events(w, pods),
        now=now,
    )
    chart = None
    if w.kind in kinds.ROLLING_KINDS:
        samples = list(
            RolloutSample.objects.filter(cluster_id=w.cluster_id, workload_uid=w.uid).order_by("-at")[:SAMPLES_SHOWN]
        )
        labels = {r.template_hash: _("rev %(n)s") % {"n": r.revision} for r in revisions}
        chart = timeline_chart(samples, now=now, revision_labels=labels)
    return {"rollout": rollout, "rollout_chart": chart, "rollout_revisions": len(revisions)}


def pod_rows(w: Workload) -> list[PodRow]:
    """The workload's live Pods in the mirror's order, from their columns; the objects of those that
    ``needs_object`` picks are read too (a resourceVersion read last time is not read and parsed again; one of 0,
    which the mirror could not read as a number, always is). Nothing here changes the objects: they are shared
    between renders."""
    pods, versions = [], {}
    for *cols, version in w.pods().order_by("id").values_list(*POD_FIELDS, "resource_version"):
        row = PodRow(*cols)
        if row.needs_object:
            entry = _objects.get((w.cluster_id, row.uid))
            if entry is not None and entry[0] == version > 0:
                row.obj = entry[1]
            else:
                versions[row.uid] = version
        pods.append(row)
    if versions:
        if len(_objects) + len(versions) > OBJECTS_KEPT:
            _objects.clear()
        stale = list(versions)
        for start in range(0, len(stale), 500):
            chunk = Pod.objects.filter(cluster_id=w.cluster_id, uid__in=stale[start : start + 500])
            for uid, version, raw in chunk.values_list("uid", "resource_version", "raw"):
                _objects[(w.cluster_id, uid)] = (version, raw)  # (newer than its columns if it changed in between)
        for row in pods:
            if row.uid in versions and (entry := _objects.get((w.cluster_id, row.uid))) is not None:
                row.obj = entry[1]
    return pods


def readiness_events(w: Workload, pods: list[PodRow]) -> list[dict]:
    """The newest Unhealthy Events of the Pods that run but are not ready: all that ``pod_causes`` reads of Events
    (a failing readiness probe), from their columns. None are read while every Pod is ready."""
    uids = [p.uid for p in pods if p.phase == "Running" and not p.ready and not p.terminating]
    if not uids:
        return []
    rows = (
        Event.objects.live()
        .filter(cluster_id=w.cluster_id, involved_uid__in=uids, reason="Unhealthy")
        .order_by("-last_seen", "-id")
        .values_list("involved_uid", "reason", "message")[:EVENTS_READ]
    )
    return [{"involvedObject": {"uid": uid}, "reason": reason, "message": message} for uid, reason, message in rows]
