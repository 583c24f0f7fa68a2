"""Where a rollout stands, and why it is stuck: pure functions over raw Kubernetes objects and mirrored Pods.

``analyse`` takes a workload (Deployment, StatefulSet, DaemonSet or Job) as the API server sends it, the raw
ReplicaSets or ControllerRevisions it owns, its Pods (``PodRow``: their columns, and their objects only where
``needs_object`` says; or whole Pods) and their Events, and says in words what the rollout is
doing: progressing, complete, paused or stalled (a Job: progressing, complete, failed or suspended), with the
counts, the surge and unavailability budget in use, the progress deadline and, when Pods of the new template
are in trouble, the cause. No queries and no requests: the views fetch, this decides, the templates draw.

The rules follow the controllers and ``kubectl rollout status`` (see the Kubernetes API reference §4):
maxSurge rounds up and maxUnavailable down; a Deployment is stalled once ``Progressing`` is
``False/ProgressDeadlineExceeded``; a StatefulSet is done once ``updated >= replicas - partition``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from workloads.objects import HASH_LABELS, as_int, condition, normalized_template, parse_time
from workloads.rollouts.causes import PodRow, pod_causes, statuses_of

Obj = dict[str, Any]

PROGRESSING, COMPLETE, PAUSED, STALLED, FAILED, SUSPENDED = (
    "progressing",
    "complete",
    "paused",
    "stalled",
    "failed",
    "suspended",
)
DEFAULT_PROGRESS_DEADLINE = 600
RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


def scaled_value(value: Any, total: int, *, round_up: bool, default: str) -> int:
    """An IntOrString of a rolling update (``1`` or ``"25%"``) as a number of Pods, rounded like the controller."""
    if value is None:
        value = default
    if isinstance(value, str) and value.endswith("%"):
        percent = as_int(value[:-1])
        exact = percent * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return as_int(value)


# --- what the panel shows -------------------------------------------------------------------------------------------


@dataclass
class Budget:
    """How far a rolling update may go over and under the desired count, and how much of that it uses now."""

    max_surge: int
    max_unavailable: int
    surge_in_use: int
    unavailable_in_use: int
    max_surge_spec: str = ""
    max_unavailable_spec: str = ""

    @property
    def surge_exhausted(self) -> bool:
        return self.max_surge > 0 and self.surge_in_use >= self.max_surge

    @property
    def unavailable_exhausted(self) -> bool:
        return self.unavailable_in_use >= self.max_unavailable and self.unavailable_in_use > 0


@dataclass
class Deadline:
    """``progressDeadlineSeconds``, counted from the last sign of progress (``Progressing.lastUpdateTime``)."""

    seconds: int
    last_progress: datetime | None
    exceeded: bool
    remaining: int | None = None  # seconds left now; None when the clock is not running

    @property
    def deadline_at(self) -> datetime | None:
        return self.last_progress + timedelta(seconds=self.seconds) if self.last_progress else None


@dataclass
class Slot:
    """One StatefulSet ordinal or one DaemonSet node, and the Pod there."""

    label: str
    pod_name: str = ""
    updated: bool = False
    ready: bool = False
    status: str = ""
    held: bool = False  # a StatefulSet ordinal below the partition: it keeps the old revision on purpose


@dataclass
class Rollout:
    kind: str
    state: str
    summary: str
    desired: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    total: int = 0
    new_total: int = 0
    new_ready: int = 0
    old_total: int = 0
    old_ready: int = 0
    new_revision: str = ""
    new_revision_number: int = 0
    strategy: str = ""
    budget: Budget | None = None
    deadline: Deadline | None = None
    causes: list[str] = field(default_factory=list)
    partition: int = 0
    slots: list[Slot] = field(default_factory=list)
    completions: int = 0
    succeeded: int = 0
    failed: int = 0
    active: int = 0
    paused: bool = False

    @property
    def state_label(self) -> str:
        return {
            PROGRESSING: _("progressing"),
            COMPLETE: _("complete"),
            PAUSED: _("paused"),
            STALLED: _("stalled"),
            FAILED: _("failed"),
            SUSPENDED: _("suspended"),
        }.get(self.state, self.state)

    @property
    def target(self) -> int:
        """How many Pods must run the new template for the rollout to be done (a partition holds some back)."""
        return max(0, self.desired - self.partition)

    @property
    def bar(self) -> list[tuple[str, float]]:
        """(css class, width in %) of the progress bar: new ready, new not ready, old ready, old not ready; a Job's
        succeeded and active Pods of its completions."""
        if self.kind == "Job":
            scale = max(self.completions, self.succeeded + self.active, 1)
            parts = [("seg-new", self.succeeded), ("seg-new-pending", self.active)]
        else:
            surge = self.budget.max_surge if self.budget else 0
            scale = max(self.desired + surge, self.new_total + self.old_total, 1)
            parts = [
                ("seg-new", self.new_ready),
                ("seg-new-pending", max(0, self.new_total - self.new_ready)),
                ("seg-old", self.old_ready),
                ("seg-old-pending", max(0, self.old_total - self.old_ready)),
            ]
        return [(css, round(100 * n / scale, 2)) for css, n in parts if n > 0]

    @property
    def desired_mark(self) -> float:
        """Where on the bar the desired count is (%): Pods right of it are the surge."""
        if self.kind == "Job":
            return 100.0
        surge = self.budget.max_surge if self.budget else 0
        scale = max(self.desired + surge, self.new_total + self.old_total, 1)
        return round(100 * self.desired / scale, 2)


# --- revisions -------------------------------------------------------------------------------------------------------


def revision_template(revision: Obj) -> Obj:
    """The Pod template of a raw ReplicaSet or ControllerRevision."""
    if revision.get("kind") == "ControllerRevision" or "data" in revision:
        template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
        template.pop("$patch", None)
        return template
    return (revision.get("spec") or {}).get("template") or {}


def revision_number(revision: Obj) -> int:
    if "revision" in revision:
        return as_int(revision.get("revision"))
    annotations = (revision.get("metadata") or {}).get("annotations") or {}
    return as_int(annotations.get("deployment.kubernetes.io/revision"))


def revision_hash(revision: Obj) -> str:
    """What the revision's Pods carry: ``pod-template-hash`` (ReplicaSets) or ``controller-revision-hash``."""
    labels = (revision.get("metadata") or {}).get("labels") or {}
    for key in HASH_LABELS:
        if labels.get(key):
            return labels[key]
    return (revision.get("metadata") or {}).get("name", "").rsplit("-", 1)[-1]


def newest_matching(template: Obj, revisions: Sequence[Obj]) -> Obj | None:
    """The revision whose template is the workload's (ignoring hash labels), else the highest revision."""
    wanted = normalized_template(template)
    matches = [r for r in revisions if normalized_template(revision_template(r)) == wanted]
    pool = matches or list(revisions)
    return max(pool, key=revision_number) if pool else None


# --- the analysis ----------------------------------------------------------------------------------------------------


def analyse(
    workload: Obj,
    *,
    revisions: Sequence[Obj] = (),
    pods: Sequence[PodRow | Obj] = (),
    events: Sequence[Obj] = (),
    now: datetime,
) -> Rollout:
    """The rollout of one workload. ``pods`` in the mirror's order: PodRows, or whole Pods (read as PodRows)."""
    kind = workload.get("kind", "")
    pods = [p if isinstance(p, PodRow) else PodRow.of(p) for p in pods]
    if kind == "Deployment":
        return _deployment(workload, revisions, pods, events, now)
    if kind == "StatefulSet":
        return _statefulset(workload, revisions, pods, events)
    if kind == "DaemonSet":
        return _daemonset(workload, revisions, pods, events)
    if kind == "Job":
        return _job(workload, pods, events)
    return Rollout(kind=kind, state=COMPLETE, summary=_("%(kind)s has no rollout.") % {"kind": kind})


def deployment_budget(spec: Obj, status: Obj) -> Budget | None:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return None
    rolling = strategy.get("rollingUpdate") or {}
    desired = as_int(spec.get("replicas"), 1)
    surge = scaled_value(rolling.get("maxSurge"), desired, round_up=True, default="25%")
    unavailable = scaled_value(rolling.get("maxUnavailable"), desired, round_up=False, default="25%")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    total = as_int(status.get("replicas"))
    available = as_int(status.get("availableReplicas"))
    return Budget(
        max_surge=surge,
        max_unavailable=unavailable,
        surge_in_use=max(0, total - desired),
        unavailable_in_use=max(0, desired - available),
        max_surge_spec=str(rolling.get("maxSurge", "25%")),
        max_unavailable_spec=str(rolling.get("maxUnavailable", "25%")),
    )


def _deployment(workload: Obj, revisions: Sequence[Obj], pods: Sequence[PodRow], events: Sequence[Obj], now: datetime):
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    metadata = workload.get("metadata") or {}
    desired = as_int(spec.get("replicas"), 1)
    new = newest_matching(spec.get("template") or {}, revisions)
    if new is not None and normalized_template(revision_template(new)) != normalized_template(
        spec.get("template") or {}
    ):
        new = None  # the controller has not made the new ReplicaSet yet
    new_hash = revision_hash(new) if new else ""
    new_uid = (new.get("metadata") or {}).get("uid") if new else None
    old = [r for r in revisions if (r.get("metadata") or {}).get("uid") != new_uid]
    rollout = Rollout(
        kind="Deployment",
        state=PROGRESSING,
        summary="",
        desired=desired,
        updated=as_int(status.get("updatedReplicas")),
        ready=as_int(status.get("readyReplicas")),
        available=as_int(status.get("availableReplicas")),
        total=as_int(status.get("replicas")),
        new_total=as_int((new or {}).get("status", {}).get("replicas")),
        new_ready=as_int((new or {}).get("status", {}).get("readyReplicas")),
        old_total=sum(as_int((r.get("status") or {}).get("replicas")) for r in old),
        old_ready=sum(as_int((r.get("status") or {}).get("readyReplicas")) for r in old),
        new_revision=(new.get("metadata") or {}).get("name", "") if new else "",
        new_revision_number=revision_number(new) if new else 0,
        strategy=(spec.get("strategy") or {}).get("type", "RollingUpdate"),
        budget=deployment_budget(spec, status),
        paused=bool(spec.get("paused")),
    )
    new_pods = [p for p in pods if new_hash and p.template_hash == new_hash]
    progressing = condition(workload, "Progressing")
    seconds = as_int(spec.get("progressDeadlineSeconds"), DEFAULT_PROGRESS_DEADLINE)
    exceeded = progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded"
    generation, observed = as_int(metadata.get("generation")), as_int(status.get("observedGeneration"))
    done = (
        observed >= generation
        and rollout.updated >= desired
        and rollout.total <= rollout.updated
        and rollout.available >= rollout.updated
    )
    rollout.causes = pod_causes(new_pods, events, noun=_("new"))
    failure = condition(workload, "ReplicaFailure")
    if failure.get("status") == "True":
        rollout.causes.append(failure.get("message") or failure.get("reason") or _("the ReplicaSet cannot create Pods"))
    revision_text = (
        _("revision %(n)s") % {"n": rollout.new_revision_number}
        if rollout.new_revision_number
        else _("the new template")
    )
    if spec.get("paused"):
        rollout.state = PAUSED
        if done:
            rollout.summary = _("Paused: the rollout of %(rev)s is done; template changes wait for resume.") % {
                "rev": revision_text
            }
        else:
            rollout.summary = _("Paused at %(u)d of %(d)d updated: the rollout waits for resume.") % {
                "u": rollout.updated,
                "d": desired,
            }
        rollout.causes = []
        return rollout
    last_progress = parse_time(progressing.get("lastUpdateTime"))
    if exceeded:
        rollout.state = STALLED
        rollout.deadline = Deadline(seconds, last_progress, True, 0)
        message = progressing.get("message") or ""
        rollout.causes.append(
            _("ProgressDeadlineExceeded after %(s)d s") % {"s": seconds} + (f": {message}" if message else "")
        )
        rollout.summary = _(
            "Stalled: %(rev)s made no progress for %(s)d s; %(u)d of %(d)d updated, %(a)d available."
        ) % {
            "rev": revision_text,
            "s": seconds,
            "u": rollout.updated,
            "d": desired,
            "a": rollout.available,
        }
        return rollout
    if observed < generation:
        rollout.summary = _("Waiting for the Deployment controller to see the change.")
        return rollout
    if done:
        rollout.state = COMPLETE
        rollout.causes = []
        rollout.summary = _("Complete: %(rev)s runs on %(a)d of %(d)d Pods, all available.") % {
            "rev": revision_text,
            "a": rollout.available,
            "d": desired,
        }
        return rollout
    if "progressDeadlineSeconds" in spec or progressing:
        remaining = None
        if last_progress is not None:
            remaining = max(0, int((last_progress + timedelta(seconds=seconds) - now).total_seconds()))
        rollout.deadline = Deadline(seconds, last_progress, False, remaining)
    if rollout.updated < desired:
        rollout.summary = _("Rolling out %(rev)s: %(u)d of %(d)d updated, %(r)d ready, %(a)d available.")
    elif rollout.total > rollout.updated:
        rollout.summary = _("Rolling out %(rev)s: all %(u)d updated; %(old)d old Pods still terminating.")
    else:
        rollout.summary = _("Rolling out %(rev)s: %(u)d updated, waiting for %(a)d of %(u)d to be available.")
    rollout.summary %= {
        "rev": revision_text,
        "u": rollout.updated,
        "d": desired,
        "r": rollout.ready,
        "a": rollout.available,
        "old": max(0, rollout.total - rollout.updated),
    }
    return rollout


def _ordinal(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _statefulset(workload: Obj, revisions: Sequence[Obj], pods: Sequence[PodRow], events: Sequence[Obj]) -> Rollout:
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    metadata = workload.get("metadata") or {}
    name = metadata.get("name", "")
    desired = as_int(spec.get("replicas"), 1)
    update_strategy = spec.get("updateStrategy") or {}
    rolling = update_strategy.get("rollingUpdate")
    if update_strategy.get("type", "RollingUpdate") == "RollingUpdate" and rolling is None:
        rolling = {"partition": 0}
    partition = as_int((rolling or {}).get("partition"))
    update_revision = status.get("updateRevision") or ""
    current_revision = status.get("currentRevision") or ""
    by_name = {(r.get("metadata") or {}).get("name"): r for r in revisions}
    rollout = Rollout(
        kind="StatefulSet",
        state=PROGRESSING,
        summary="",
        desired=desired,
        updated=as_int(status.get("updatedReplicas")),
        ready=as_int(status.get("readyReplicas")),
        available=as_int(status.get("availableReplicas"), as_int(status.get("readyReplicas"))),
        total=as_int(status.get("replicas")),
        new_revision=update_revision,
        new_revision_number=revision_number(by_name[update_revision]) if update_revision in by_name else 0,
        strategy=update_strategy.get("type", "RollingUpdate"),
        partition=min(partition, desired),
    )
    live = [p for p in pods if not p.terminating]
    new_pods = [p for p in live if update_revision and p.template_hash == update_revision]
    rollout.new_total = len(new_pods)
    rollout.new_ready = sum(1 for p in new_pods if p.ready)
    rollout.old_total = len(live) - rollout.new_total
    rollout.old_ready = sum(1 for p in live if p.ready) - rollout.new_ready
    by_ordinal = {_ordinal(p.name): p for p in pods}
    for ordinal in range(max(desired, max(by_ordinal, default=-1) + 1)):
        pod = by_ordinal.get(ordinal)
        slot = Slot(label=f"{name}-{ordinal}", held=ordinal < partition and rollout.strategy == "RollingUpdate")
        if pod is not None:
            slot.pod_name = pod.name
            slot.updated = bool(update_revision) and pod.template_hash == update_revision
            slot.ready = pod.ready
            slot.status = "Terminating" if pod.terminating else _pod_word(pod)
        rollout.slots.append(slot)
    rollout.causes = pod_causes(new_pods, events, noun=_("updated"))
    generation, observed = as_int(metadata.get("generation")), as_int(status.get("observedGeneration"))
    if rollout.strategy == "OnDelete":
        done = observed >= generation and rollout.ready >= desired
    elif rolling is not None:
        done = observed >= generation and rollout.ready >= desired and rollout.updated >= desired - partition
    else:
        done = observed >= generation and rollout.ready >= desired and update_revision == current_revision
    rollout.summary = _statefulset_summary(rollout, done, observed < generation)
    if observed < generation:
        return rollout
    if done:
        rollout.state = COMPLETE
        rollout.causes = []
    elif rollout.causes:
        rollout.state = STALLED
    return rollout


def _statefulset_summary(rollout: Rollout, done: bool, unobserved: bool) -> str:
    if unobserved:
        return _("Waiting for the StatefulSet controller to see the change.")
    held = ""
    if rollout.partition:
        held = " " + ngettext(
            "Partition %(p)d: ordinal 0 keeps the old revision.",
            "Partition %(p)d: ordinals 0–%(last)d keep the old revision.",
            rollout.partition,
        ) % {"p": rollout.partition, "last": rollout.partition - 1}
    if done:
        return (
            _("Complete: %(u)d of %(t)d Pods to update run revision %(rev)s; %(r)d of %(d)d ready.")
            % {
                "u": min(rollout.updated, rollout.target),
                "t": rollout.target,
                "rev": rollout.new_revision_number or rollout.new_revision,
                "r": rollout.ready,
                "d": rollout.desired,
            }
            + held
        )
    return (
        _("Rolling out revision %(rev)s from the highest ordinal down: %(u)d of %(t)d updated, %(r)d of %(d)d ready.")
        % {
            "rev": rollout.new_revision_number or rollout.new_revision,
            "u": rollout.updated,
            "t": rollout.target,
            "r": rollout.ready,
            "d": rollout.desired,
        }
        + held
    )


def _pod_word(pod: PodRow) -> str:
    """A slot's word for its Pod: a container's waiting reason, else its phase. Only a Pod that ``needs_object``
    can have a container waiting (a ready Running or a Succeeded one has none)."""
    if pod.needs_object and pod.obj is not None:
        for cs in statuses_of(pod.obj):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                return waiting["reason"]
    if pod.phase == "Running" and not pod.ready:
        return _("Running, not ready")
    return pod.phase or "Pending"


def _daemonset(workload: Obj, revisions: Sequence[Obj], pods: Sequence[PodRow], events: Sequence[Obj]) -> Rollout:
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    metadata = workload.get("metadata") or {}
    desired = as_int(status.get("desiredNumberScheduled"))
    new = newest_matching(spec.get("template") or {}, revisions)
    new_hash = revision_hash(new) if new else ""
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    rollout = Rollout(
        kind="DaemonSet",
        state=PROGRESSING,
        summary="",
        desired=desired,
        updated=as_int(status.get("updatedNumberScheduled")),
        ready=as_int(status.get("numberReady")),
        available=as_int(status.get("numberAvailable")),
        total=as_int(status.get("currentNumberScheduled")),
        new_revision=(new.get("metadata") or {}).get("name", "") if new else "",
        new_revision_number=revision_number(new) if new else 0,
        strategy=strategy.get("type", "RollingUpdate"),
    )
    if rollout.strategy == "RollingUpdate":
        surge = scaled_value(rolling.get("maxSurge"), desired, round_up=True, default="0")
        unavailable = scaled_value(rolling.get("maxUnavailable"), desired, round_up=True, default="1")
        if surge == 0 and unavailable == 0:
            unavailable = 1
        rollout.budget = Budget(
            max_surge=surge,
            max_unavailable=unavailable,
            surge_in_use=max(0, len([p for p in pods if not p.terminating]) - desired),
            unavailable_in_use=max(0, desired - rollout.available),
            max_surge_spec=str(rolling.get("maxSurge", "0")),
            max_unavailable_spec=str(rolling.get("maxUnavailable", "1")),
        )
    live = [p for p in pods if not p.terminating]
    new_pods = [p for p in live if new_hash and p.template_hash == new_hash]
    rollout.new_total, rollout.new_ready = len(new_pods), sum(1 for p in new_pods if p.ready)
    rollout.old_total = len(live) - rollout.new_total
    rollout.old_ready = sum(1 for p in live if p.ready) - rollout.new_ready
    for pod in sorted(pods, key=lambda p: (p.node_name, p.terminating)):
        rollout.slots.append(
            Slot(
                label=pod.node_name or _("(not scheduled)"),
                pod_name=pod.name,
                updated=bool(new_hash) and pod.template_hash == new_hash,
                ready=pod.ready,
                status="Terminating" if pod.terminating else _pod_word(pod),
            )
        )
    rollout.causes = pod_causes(new_pods, events, noun=_("updated"))
    generation, observed = as_int(metadata.get("generation")), as_int(status.get("observedGeneration"))
    done = observed >= generation and rollout.updated >= desired and rollout.available >= desired
    if observed < generation:
        rollout.summary = _("Waiting for the DaemonSet controller to see the change.")
    elif done:
        rollout.state = COMPLETE
        rollout.causes = []
        rollout.summary = _("Complete: revision %(rev)s runs on all %(d)d nodes, all available.") % {
            "rev": rollout.new_revision_number or "?",
            "d": desired,
        }
    else:
        rollout.state = STALLED if rollout.causes else PROGRESSING
        rollout.summary = _(
            "Rolling out revision %(rev)s node by node: %(u)d of %(d)d nodes updated, %(a)d available."
        ) % {
            "rev": rollout.new_revision_number or "?",
            "u": rollout.updated,
            "d": desired,
            "a": rollout.available,
        }
    return rollout


def _job(workload: Obj, pods: Sequence[PodRow], events: Sequence[Obj]) -> Rollout:
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    completions = as_int(spec.get("completions"), 1) if spec.get("completions") is not None else 1
    rollout = Rollout(
        kind="Job",
        state=PROGRESSING,
        summary="",
        desired=completions,
        completions=completions,
        succeeded=as_int(status.get("succeeded")),
        failed=as_int(status.get("failed")),
        active=as_int(status.get("active")),
        ready=as_int(status.get("ready")),
    )
    complete, failed = condition(workload, "Complete"), condition(workload, "Failed")
    counts = {"s": rollout.succeeded, "c": completions, "a": rollout.active, "f": rollout.failed}
    if complete.get("status") == "True":
        rollout.state = COMPLETE
        rollout.summary = _("Complete: %(s)d of %(c)d completions succeeded.") % counts
        started, finished = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
        if started and finished:
            rollout.summary += " " + _("Took %(t)d s.") % {"t": int((finished - started).total_seconds())}
    elif failed.get("status") == "True":
        rollout.state = FAILED
        rollout.summary = _("Failed after %(f)d failed Pods: %(s)d of %(c)d completions succeeded.") % counts
        rollout.causes = [f"{failed.get('reason', 'Failed')}: {failed.get('message', '')}".rstrip(": ")]
        rollout.causes += pod_causes(pods, events, noun="")
    elif spec.get("suspend"):
        rollout.state = SUSPENDED
        rollout.summary = _("Suspended: %(s)d of %(c)d completions succeeded; no Pods run until resumed.") % counts
    else:
        rollout.summary = _("Running: %(s)d of %(c)d completions succeeded, %(a)d active, %(f)d failed.") % counts
        rollout.causes = pod_causes([p for p in pods if p.phase != "Succeeded"], events, noun="")
    return rollout


# --- restart, undo ---------------------------------------------------------------------------------------------------


def undo_template(revision: Obj) -> Obj:
    """The template ``kubectl rollout undo`` sends back: the revision's, without the ``pod-template-hash`` label."""
    template = revision_template(revision)
    template = {**template, "metadata": dict(template.get("metadata") or {})}
    labels = {k: v for k, v in (template["metadata"].get("labels") or {}).items() if k != "pod-template-hash"}
    template["metadata"]["labels"] = labels
    return template
