"""The rollout panel's data for one workload: its state, budget, deadline, cause and timeline, from the mirror.
The ``rollout_panel`` template tag and the panel URL both get it from here."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from workloads import kinds
from workloads.models import Event, Pod, RolloutSample, Workload
from workloads.rollouts import analysis as rollouts
from workloads.rollouts.chart import timeline_chart

EVENTS_READ = 200
RAWS_KEPT = 20_000  # Pods whose parsed object is kept between renders (each a few kB)

# (cluster id, Pod uid) -> (its resourceVersion, its parsed object): a live frame of a workload with 1,000 Pods
# renders the panel again for a change to any one of them, and reading and parsing every Pod's object each time
# was most of the frame (issue 16). Only the Pods that changed since are read again.
_raws: dict[tuple[int, str], tuple[int, dict]] = {}


SAMPLES_SHOWN = 400


def panel_context(w: Workload) -> dict[str, Any]:
    """What the rollout panel of one workload shows (through the ``rollout_panel`` tag, so the workload page, its
    live frames and the panel URL all get it from here)."""
    if w.kind not in kinds.PANEL_KINDS or w.deleted_at is not None:
        return {"rollout": None}
    now = timezone.now()
    revisions = list(w.revisions())
    pod_uids, pods = pod_objects(w)
    events = list(
        Event.objects.live()
        .filter(cluster_id=w.cluster_id, involved_uid__in=[w.uid, *pod_uids])
        .order_by("-last_seen", "-id")
        .values_list("raw", flat=True)[:EVENTS_READ]
    )
    rollout = rollouts.analyse(
        {**w.raw, "kind": w.kind},
        revisions=[{**r.raw, "kind": r.source_kind} for r in revisions],
        pods=pods,
        events=events,
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


def pod_objects(w: Workload) -> tuple[list[str], list[dict]]:
    """The uids and Kubernetes objects of the workload's live Pods, in the mirror's order; a Pod whose resourceVersion
    is the one read last time is not read and parsed again. Nothing here changes them: they are shared between
    renders. (A resourceVersion of 0, one the mirror could not read as a number, is always read again.)"""
    current = list(w.pods().order_by("id").values_list("uid", "resource_version"))
    stale = [uid for uid, version in current if version <= 0 or _raws.get((w.cluster_id, uid), (0,))[0] != version]
    if len(_raws) + len(stale) > RAWS_KEPT:
        _raws.clear()
        stale = [uid for uid, _ in current]
    for start in range(0, len(stale), 500):
        rows = Pod.objects.filter(cluster_id=w.cluster_id, uid__in=stale[start : start + 500])
        for uid, version, raw in rows.values_list("uid", "resource_version", "raw"):
            _raws[(w.cluster_id, uid)] = (version, raw)
    found = [(uid, _raws.get((w.cluster_id, uid))) for uid, _ in current]
    found = [(uid, entry[1]) for uid, entry in found if entry is not None]  # not one deleted in between
    return [uid for uid, _ in found], [raw for _, raw in found]
