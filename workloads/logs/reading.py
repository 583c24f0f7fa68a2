"""Reading logs once: one container of one Pod, or the Pods of a workload merged in time order.

The Pods and containers come from the mirror (what exists, what restarted); the lines come from the cluster.
"""

from __future__ import annotations

import heapq
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from workloads import kube
from workloads.browse import presenters
from workloads.logs.text import Line, parse_text
from workloads.models import Cluster, Pod, Workload

MAX_PODS = 50  # a workload view reads (and follows) at most this many Pods
READERS = 8  # Pods read at once for a workload view


@dataclass
class ContainerChoice:
    name: str
    init: bool
    restarts: int
    has_previous: bool
    state: str  # running, waiting (reason), terminated (reason)

    @property
    def label(self) -> str:
        kind = _("init container") if self.init else _("container")
        return f"{self.name} ({kind}, {self.state})"


def container_choices(pod_raw: dict) -> list[ContainerChoice]:
    """The Pod's containers, init containers first as the kubelet runs them, with what their status says."""
    spec = pod_raw.get("spec") or {}
    status = pod_raw.get("status") or {}
    choices = []
    for key, statuses, init in (
        ("initContainers", "initContainerStatuses", True),
        ("containers", "containerStatuses", False),
    ):
        by_name = {s.get("name"): s for s in status.get(statuses) or []}
        for c in spec.get(key) or []:
            s = by_name.get(c.get("name")) or {}
            state = s.get("state") or {}
            if "running" in state:
                text = "running"
            elif "terminated" in state:
                ended = state["terminated"]
                text = f"terminated: {ended.get('reason') or 'exit ' + str(ended.get('exitCode'))}"
            elif "waiting" in state:
                text = f"waiting: {state['waiting'].get('reason') or '?'}"
            else:
                text = _("not started")
            last = (s.get("lastState") or {}).get("terminated") or {}
            choices.append(
                ContainerChoice(
                    name=c.get("name", ""),
                    init=init,
                    restarts=int(s.get("restartCount") or 0),
                    has_previous=bool(last.get("containerID")),
                    state=text,
                )
            )
    return choices


class LogUnavailable(Exception):
    """The cluster would not give this log; the message says why, in words a person can act on."""


def explain(exc: kube.KubeError, pod: str) -> str:
    if isinstance(exc, kube.Forbidden):
        return _(
            "The cluster refuses Podium reading this Pod's log (pods/log is forbidden for Podium's credentials): %(m)s"
        ) % {"m": exc.message}
    if isinstance(exc, kube.NotFound):
        return _("Pod %(pod)s is no longer in the cluster, so its log cannot be read.") % {"pod": pod}
    if isinstance(exc, kube.Unreachable):
        return _("Cannot reach the cluster to read the log: %(m)s") % {"m": exc.message}
    return _("The cluster cannot give this log: %(m)s") % {"m": exc.message}


def api_for(cluster: Cluster) -> object:
    return kube.api_client_for(kube.config_for_cluster(cluster))


def read_container(cluster: Cluster, namespace: str, pod: str, query: kube.LogQuery, api: object = None) -> list[Line]:
    try:
        body = kube.read_log(api or api_for(cluster), namespace=namespace, pod=pod, query=query)
    except kube.KubeError as exc:
        raise LogUnavailable(explain(exc, pod)) from exc
    return parse_text(body, pod=pod, container=query.container)


# --- a workload's Pods ----------------------------------------------------------------------------------------------


@dataclass
class RevisionChoice:
    key: str  # "current", or a revision uid
    label: str
    pods: list[Pod]


@dataclass
class WorkloadPods:
    """The Pods a workload view reads: all of them, or one revision's; at most MAX_PODS."""

    revisions: list[RevisionChoice]
    pods: list[Pod]
    left_out: int
    containers: list[str] = field(default_factory=list)


def workload_pods(w: Workload, revisions: list[presenters.Revision], revision: str) -> WorkloadPods:
    pods = list(w.pods().order_by("name"))
    groups = presenters.group_pods(
        kind=w.kind, name=w.name, raw=w.raw, current_column=w.current_revision, revisions=revisions, pods=pods
    )
    choices = []
    for g in groups:
        if g.revision is None:
            continue
        number = f"#{g.revision.revision} " if g.revision.revision else ""
        label = (_("current revision %(n)s(%(name)s)") if g.current else _("outdated revision %(n)s(%(name)s)")) % {
            "n": number,
            "name": g.revision.name,
        }
        choices.append(RevisionChoice("current" if g.current else g.revision.uid, label, g.pods))
        for p in g.pods:
            number = f" #{g.revision.revision}" if g.revision.revision else ""
            p.revision_label = (_("current") if g.current else _("outdated")) + number
    chosen = pods
    if revision:
        match = next((c for c in choices if c.key == revision), None)
        chosen = match.pods if match else []
    # Running Pods first (they have something to say), then by name, so that the same Pods are chosen each time.
    chosen = sorted(chosen, key=lambda p: (p.phase != "Running", p.name))
    containers: list[str] = []
    for p in pods:
        for c in container_choices(p.raw or {}):
            if c.name not in containers:
                containers.append(c.name)
    return WorkloadPods(choices, chosen[:MAX_PODS], max(0, len(chosen) - MAX_PODS), containers)


@dataclass
class MergedRead:
    lines: list[Line]
    problems: list[str]  # one per container the cluster would not give


def read_merged(
    cluster: Cluster, pods: list[Pod], *, container: str, query: kube.LogQuery, max_lines: int
) -> MergedRead:
    """Every chosen container of every Pod, merged by the kubelet's timestamps (the last ``max_lines``)."""
    api = api_for(cluster)
    targets = []
    for p in pods:
        for c in container_choices(p.raw or {}):
            if (container and c.name != container) or (not container and c.init):
                continue
            targets.append((p, c))

    def one(target: tuple[Pod, ContainerChoice]) -> list[Line] | str:
        p, c = target
        try:
            return read_container(cluster, p.namespace, p.name, _with(query, c.name), api)
        except LogUnavailable as exc:
            return f"{p.name}/{c.name}: {exc}"

    with ThreadPoolExecutor(max_workers=READERS) as pool:
        results = list(pool.map(one, targets))
    problems = [r for r in results if isinstance(r, str)]
    streams = [r for r in results if not isinstance(r, str)]
    lines = list(heapq.merge(*streams, key=lambda line: line.at))
    return MergedRead(lines[-max_lines:], problems)


def _with(query: kube.LogQuery, container: str) -> kube.LogQuery:
    return kube.LogQuery(
        container=container,
        previous=query.previous,
        tail_lines=query.tail_lines,
        since_seconds=query.since_seconds,
        timestamps=True,
        limit_bytes=query.limit_bytes,
    )
