"""What holds a rollout's new Pods back, in the kubelet's and the scheduler's words: image pulls, config errors,
crash loops, failing probes, unschedulable Pods, and the Events that say why. Pure functions over Pods as the mirror
keeps them: their columns, and their whole object only where the columns cannot say (``needs_object``)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from workloads.objects import Obj, as_int, condition
from workloads.sync.rows import pod_columns

# Waiting reasons that do not go away by waiting: the rollout cannot finish until someone changes something.
PULL_FAILURES = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable")


CONFIG_FAILURES = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")

# The Pod columns a PodRow is made of, in its fields' order (``Pod.objects.values_list(*POD_FIELDS)``).
POD_FIELDS = ("uid", "name", "template_hash", "phase", "ready", "terminating", "node_name")


def needs_object(*, phase: str, ready: bool, terminating: bool) -> bool:
    """Whether what the panel says of a Pod needs its whole object, not only its columns. Not for a terminating Pod
    (no cause looks at it), a Succeeded one (its containers all ended well) or a ready Running one (every container
    runs and is ready: nothing waits, crashed or fails its probe, and it was scheduled)."""
    return not (terminating or phase == "Succeeded" or (ready and phase == "Running"))


@dataclass(slots=True)
class PodRow:
    """A Pod as the rollout panel reads it: its mirrored columns (``POD_FIELDS``), and ``obj``, its whole object,
    where ``needs_object`` says so. A live page of a workload with 1,000 Pods renders the panel on every frame, and
    reading and parsing every Pod's object was most of it (issue 16)."""

    uid: str
    name: str
    template_hash: str
    phase: str
    ready: bool
    terminating: bool
    node_name: str
    obj: Obj | None = None

    @classmethod
    def of(cls, pod: Obj) -> PodRow:
        """From a whole Pod, its columns by the sync's own rules, so that both say the same of it."""
        cols, m = pod_columns(pod), pod.get("metadata") or {}
        return cls(
            uid=m.get("uid", ""),
            name=m.get("name", ""),
            template_hash=cols["template_hash"],
            phase=cols["phase"],
            ready=cols["ready"],
            terminating=cols["terminating"],
            node_name=cols["node_name"],
            obj=pod,
        )

    @property
    def needs_object(self) -> bool:
        return needs_object(phase=self.phase, ready=self.ready, terminating=self.terminating)


def _images_by_container(pod: Obj) -> dict[str, str]:
    spec = pod.get("spec") or {}
    return {
        c.get("name", ""): c.get("image", "")
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        if isinstance(c, dict)
    }


def statuses_of(pod: Obj) -> list[Obj]:
    status = pod.get("status") or {}
    return [
        cs
        for key in ("initContainerStatuses", "containerStatuses")
        for cs in status.get(key) or []
        if isinstance(cs, dict)
    ]


@dataclass
class _Trouble:
    pods: set[str] = field(default_factory=set)
    reasons: Counter = field(default_factory=Counter)
    details: Counter = field(default_factory=Counter)
    restarts: int = 0


def pod_causes(pods: Sequence[PodRow], events: Iterable[Obj], *, noun: str) -> list[str]:
    """Why these Pods do not become ready, grouped: "2 new Pods cannot pull image nginx:1.99-typo (ImagePullBackOff)".
    Only the Pods that ``needs_object`` picks are looked into (the others have nothing to say), from their objects;
    one without (removed from the mirror between the panel's reads) is passed over.

    ``noun`` says which Pods these are ("new", "updated", ""), for the sentence.
    """
    pulls: dict[str, _Trouble] = defaultdict(_Trouble)
    crashes: dict[str, _Trouble] = defaultdict(_Trouble)
    configs: dict[str, _Trouble] = defaultdict(_Trouble)
    unschedulable = _Trouble()
    unready = _Trouble()
    failed = _Trouble()
    unready_uids: dict[str, str] = {}
    for row in pods:
        if not row.needs_object or row.obj is None:
            continue
        pod, name = row.obj, row.name
        status = pod.get("status") or {}
        images = _images_by_container(pod)
        scheduled = condition(pod, "PodScheduled")
        if scheduled.get("status") == "False":
            unschedulable.pods.add(name)
            unschedulable.details[scheduled.get("message") or scheduled.get("reason") or ""] += 1
            continue
        if status.get("phase") == "Failed":
            failed.pods.add(name)
            failed.reasons[status.get("reason") or "Failed"] += 1
        blocked = False
        for cs in statuses_of(pod):
            state, last = cs.get("state") or {}, cs.get("lastState") or {}
            waiting = state.get("waiting") or {}
            reason = waiting.get("reason") or ""
            container = cs.get("name", "")
            if reason in PULL_FAILURES:
                image = images.get(container) or cs.get("image") or "?"
                pulls[image].pods.add(name)
                pulls[image].reasons[reason] += 1
                blocked = True
            elif reason == "CrashLoopBackOff" or _crashed(state, status):
                trouble = crashes[container]
                trouble.pods.add(name)
                ended = (last.get("terminated") or {}) if reason else (state.get("terminated") or {})
                trouble.reasons[reason or ended.get("reason") or "Error"] += 1
                if ended:
                    trouble.details[_exit_text(ended)] += 1
                trouble.restarts += as_int(cs.get("restartCount"))
                blocked = True
            elif reason in CONFIG_FAILURES:
                configs[container].pods.add(name)
                configs[container].reasons[reason] += 1
                configs[container].details[waiting.get("message") or ""] += 1
                blocked = True
            elif status.get("phase") == "Failed" and (terminated := state.get("terminated") or {}):
                failed.details[_exit_text(terminated)] += 1
        if (
            not blocked
            and status.get("phase") == "Running"
            and not row.ready
            and all((cs.get("state") or {}).get("running") for cs in status.get("containerStatuses") or [])
        ):
            unready_uids[row.uid] = name
    for event in events:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        if (
            involved.get("uid") in unready_uids
            and event.get("reason") == "Unhealthy"
            and "Readiness" in (event.get("message") or event.get("note") or "")
        ):
            unready.pods.add(unready_uids[involved["uid"]])
            unready.details[_probe_message(event.get("message") or event.get("note") or "")] += 1

    prefix = f"{noun} " if noun else ""
    causes: list[str] = []
    for image, trouble in pulls.items():
        reason = "ImagePullBackOff" if trouble.reasons["ImagePullBackOff"] else trouble.reasons.most_common(1)[0][0]
        causes.append(
            ngettext(
                "%(n)d %(new)sPod cannot pull image %(image)s (%(reason)s)",
                "%(n)d %(new)sPods cannot pull image %(image)s (%(reason)s)",
                len(trouble.pods),
            )
            % {"n": len(trouble.pods), "new": prefix, "image": image, "reason": reason}
        )
    for container, trouble in crashes.items():
        reason = trouble.reasons.most_common(1)[0][0]
        text = _("%(new)sPods crash: %(reason)s") % {"new": prefix, "reason": reason}
        if trouble.details:
            text += ", " + trouble.details.most_common(1)[0][0]
        text += " " + ngettext(
            "(container %(c)s, %(n)d Pod, %(r)d restarts)",
            "(container %(c)s, %(n)d Pods, %(r)d restarts)",
            len(trouble.pods),
        ) % {"c": container, "n": len(trouble.pods), "r": trouble.restarts}
        causes.append(text)
    for container, trouble in configs.items():
        reason = trouble.reasons.most_common(1)[0][0]
        message = trouble.details.most_common(1)[0][0]
        causes.append(
            ngettext(
                "%(n)d %(new)sPod cannot start container %(c)s (%(reason)s)",
                "%(n)d %(new)sPods cannot start container %(c)s (%(reason)s)",
                len(trouble.pods),
            )
            % {"n": len(trouble.pods), "new": prefix, "c": container, "reason": reason}
            + (f": {message}" if message else "")
        )
    if unschedulable.pods:
        message = unschedulable.details.most_common(1)[0][0]
        causes.append(
            ngettext(
                "%(n)d %(new)sPod cannot be scheduled",
                "%(n)d %(new)sPods cannot be scheduled",
                len(unschedulable.pods),
            )
            % {"n": len(unschedulable.pods), "new": prefix}
            + (f": {message}" if message else "")
        )
    if unready.pods:
        causes.append(
            ngettext(
                "readiness probe failing on %(n)d %(new)sPod: %(message)s",
                "readiness probe failing on %(n)d %(new)sPods: %(message)s",
                len(unready.pods),
            )
            % {"n": len(unready.pods), "new": prefix, "message": unready.details.most_common(1)[0][0]}
        )
    if failed.pods:
        what = failed.details.most_common(1)[0][0] if failed.details else failed.reasons.most_common(1)[0][0]
        causes.append(
            ngettext("%(n)d Pod failed: %(what)s", "%(n)d Pods failed: %(what)s", len(failed.pods))
            % {"n": len(failed.pods), "what": what}
        )
    return causes


def _exit_text(terminated: Obj) -> str:
    code = terminated.get("exitCode")
    text = _("exit code %(c)s") % {"c": code}
    if terminated.get("reason") and terminated["reason"] not in ("Error", "Completed"):
        text = f"{terminated['reason']}, {text}"
    return text


def _probe_message(message: str) -> str:
    # "Readiness probe failed: HTTP probe failed with statuscode: 503" -> the part after the first colon.
    return re.sub(r"^Readiness probe failed:\s*", "", message).strip() or message


def _crashed(state: Obj, status: Obj) -> bool:
    """A container that ended with an error in a Pod that restarts it (a failed Job Pod is counted apart)."""
    terminated = state.get("terminated") or {}
    return bool(terminated) and as_int(terminated.get("exitCode")) != 0 and status.get("phase") != "Failed"
