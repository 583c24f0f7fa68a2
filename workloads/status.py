"""Status in Kubernetes' own terms, worked out from a raw object: a workload's health badge and a
Pod's STATUS column as kubectl prints it. Shared by the sync layer (which stores them in columns)
and the pages (which show them), so the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from workloads.objects import as_int, condition, dig


@dataclass
class Status:
    health: str
    reason: str = ""


def workload_status(kind: str, raw: dict, *, desired: int = 0, ready: int = 0, updated: int = 0) -> Status:
    """The badge: healthy, progressing, degraded, failed, paused, completed or suspended.

    Read from the object's own status and conditions, falling back to the row's replica columns.
    """
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    generation = as_int(dig(raw, "metadata", "generation"))
    observed = as_int(status.get("observedGeneration"), generation)
    if kind == "CronJob":
        if spec.get("suspend"):
            return Status("suspended", _("Suspended: no new Jobs are scheduled"))
        active = len(status.get("active") or [])
        if active:
            return Status("progressing", _("%(n)s active Job(s)") % {"n": active})
        return Status("healthy", _("Schedule %(s)s") % {"s": spec.get("schedule", "?")})
    if kind == "Job":
        if condition(raw, "Failed").get("status") == "True":
            cond = condition(raw, "Failed")
            return Status("failed", cond.get("message") or cond.get("reason") or _("Job failed"))
        if condition(raw, "Complete").get("status") == "True":
            return Status("completed", _("Completed"))
        if spec.get("suspend"):
            return Status("suspended", _("Suspended"))
        active = as_int(status.get("active"))
        return Status("progressing", _("%(n)s active Pod(s)") % {"n": active})
    if kind == "DaemonSet":
        desired = as_int(status.get("desiredNumberScheduled"), desired)
        ready = as_int(status.get("numberReady"), ready)
        updated = as_int(status.get("updatedNumberScheduled"), updated)
        total = desired
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        desired = as_int(spec["replicas"]) if "replicas" in spec else (1 if spec else desired)
        # The API server omits zero counts, so a present status with no readyReplicas means none.
        ready = as_int(status.get("readyReplicas")) if status else ready
        updated = as_int(status.get("updatedReplicas")) if status else updated
        total = as_int(status.get("replicas")) if status else desired
        if kind == "ReplicaSet":
            updated = total
    else:
        total = desired
    if kind == "Deployment":
        if spec.get("paused"):
            return Status("paused", _("Rollout paused"))
        progressing = condition(raw, "Progressing")
        if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
            return Status("failed", progressing.get("message") or _("Progress deadline exceeded"))
        failure = condition(raw, "ReplicaFailure")
        if failure.get("status") == "True":
            return Status("failed", failure.get("message") or failure.get("reason") or _("Replica failure"))
    rolling = observed < generation or updated < desired or total > updated
    if kind == "StatefulSet" and status.get("updateRevision") and status.get("currentRevision"):
        rolling = rolling or status["updateRevision"] != status["currentRevision"]
    if rolling:
        return Status("progressing", _("Rolling out: %(u)s of %(d)s updated") % {"u": updated, "d": desired})
    if ready < desired:
        return Status("degraded", _("%(r)s of %(d)s ready") % {"r": ready, "d": desired})
    return Status("healthy", _("%(r)s of %(d)s ready") % {"r": ready, "d": desired})


# --- Pods -------------------------------------------------------------------------------------------------------------


def pod_status_text(raw: dict) -> str:
    """The STATUS column of `kubectl get pods`."""
    status = raw.get("status") or {}
    spec = raw.get("spec") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or [] if isinstance(c, dict)}
    init_statuses = status.get("initContainerStatuses") or []
    initializing = False
    for i, cs in enumerate(init_statuses):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        sidecar = (init_specs.get(cs.get("name")) or {}).get("restartPolicy") == "Always"
        if sidecar and cs.get("started"):
            continue
        if terminated:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode')}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs) or len(init_statuses)}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting") or {}, state.get("terminated")
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = (
                    f"Signal:{terminated['signal']}"
                    if terminated.get("signal")
                    else f"ExitCode:{terminated.get('exitCode')}"
                )
            elif state.get("running") and cs.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running" if condition(raw, "Ready").get("status") == "True" else "NotReady"
    if dig(raw, "metadata", "deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason
