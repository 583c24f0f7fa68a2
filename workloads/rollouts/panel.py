"""The rollout panel's data for one workload: its state, budget, deadline, cause and timeline, from the mirror.
The ``rollout_panel`` template tag and the panel URL both get it from here."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from workloads import kinds
from workloads.models import Event, RolloutSample, Workload
from workloads.rollouts import analysis as rollouts
from workloads.rollouts.chart import timeline_chart

EVENTS_READ = 200


SAMPLES_SHOWN = 400


def panel_context(w: Workload) -> dict[str, Any]:
    """What the rollout panel of one workload shows (through the ``rollout_panel`` tag, so the workload page, its
    live frames and the panel URL all get it from here)."""
    if w.kind not in kinds.PANEL_KINDS or w.deleted_at is not None:
        return {"rollout": None}
    now = timezone.now()
    revisions = list(w.revisions())
    pods = list(w.pods().only("uid", "raw"))
    pod_uids = [p.uid for p in pods]
    events = list(
        Event.objects.live()
        .filter(cluster_id=w.cluster_id, involved_uid__in=[w.uid, *pod_uids])
        .order_by("-last_seen", "-id")
        .values_list("raw", flat=True)[:EVENTS_READ]
    )
    rollout = rollouts.analyse(
        {**w.raw, "kind": w.kind},
        revisions=[{**r.raw, "kind": r.source_kind} for r in revisions],
        pods=[p.raw for p in pods],
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
