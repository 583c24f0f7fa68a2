"""The Job controller: run ``parallelism`` Pods until ``completions`` succeed, or fail after
``backoffLimit`` failed Pods."""

from __future__ import annotations

from democluster.controllers.base import (
    Controller,
    get_condition,
    is_deleting,
    now_rfc3339,
    owner_reference,
    parse_time,
    pod_is_active,
    pod_is_ready,
    set_condition,
)
from democluster.controllers.replicaset import pod_from_template
from democluster.errors import ApiError
from democluster.resources import JOBS, PODS, Resource
from democluster.store import Obj

COMPONENT = "job-controller"


def finished(job: Obj) -> str | None:
    """ "Complete" or "Failed" once the Job has finished, else None."""
    for type_ in ("Complete", "Failed"):
        cond = get_condition(job.get("status"), type_)
        if cond and cond.get("status") == "True":
            return type_
    return None


class JobController(Controller):
    name = "job"
    res = JOBS

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is JOBS:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is PODS:
            self.enqueue_owner(new, "Job")

    def reconcile(self, namespace: str, name: str) -> None:
        job = self.store.try_get(JOBS, namespace, name)
        if job is None or is_deleting(job):
            return
        spec = job["spec"]
        pods = self.index.owned(job["metadata"]["uid"], PODS)
        active = [p for p in pods if pod_is_active(p)]
        terminating = [p for p in pods if is_deleting(p)]
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        old = job.get("status") or {}
        succeeded = max(old.get("succeeded", 0), phases.count("Succeeded"))
        failed = max(old.get("failed", 0), phases.count("Failed"))
        status: Obj = {k: v for k, v in old.items() if k in ("conditions", "startTime", "completionTime")}
        done = finished(job)
        completions = spec.get("completions")
        parallelism = spec.get("parallelism", 1)
        if done is None and not spec.get("suspend"):
            status.setdefault("startTime", now_rfc3339())
            if failed > spec.get("backoffLimit", 6):
                done = "Failed"
                for type_ in ("FailureTarget", "Failed"):
                    set_condition(
                        status,
                        type_,
                        "True",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        update_time=False,
                    )
                    get_condition(status, type_)["lastProbeTime"] = now_rfc3339()
                self.recorder.record(
                    JOBS,
                    job,
                    "Warning",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    component=COMPONENT,
                )
            elif (completions is not None and succeeded >= completions) or (
                completions is None and succeeded > 0 and not active
            ):
                done = "Complete"
                set_condition(
                    status,
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                )
                set_condition(
                    status, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"
                )
                for type_ in ("SuccessCriteriaMet", "Complete"):
                    get_condition(status, type_)["lastProbeTime"] = now_rfc3339()
                status["completionTime"] = now_rfc3339()
                self.recorder.record(JOBS, job, "Normal", "Completed", "Job completed", component=COMPONENT)
        if done is not None:
            for pod in active:
                self.delete_pod(job, pod)
            active = []
        elif not spec.get("suspend"):
            want = parallelism if completions is None else min(parallelism, completions - succeeded)
            if len(active) < want:
                delay = self.backoff_remaining(job, pods, failed)
                if delay > 0:
                    self.enqueue((namespace, name), delay)
                else:
                    owner = owner_reference(JOBS, job)
                    for _ in range(want - len(active)):
                        pod = self.store.create(
                            PODS, pod_from_template(spec.get("template"), namespace, f"{name}-", owner)
                        )
                        active.append(pod)
                        self.recorder.record(
                            JOBS,
                            job,
                            "Normal",
                            "SuccessfulCreate",
                            f"Created pod: {pod['metadata']['name']}",
                            component=COMPONENT,
                        )
            elif len(active) > want:
                for pod in active[want:]:
                    self.delete_pod(job, pod)
        if active:
            status["active"] = len(active)
        if succeeded:
            status["succeeded"] = succeeded
        if failed:
            status["failed"] = failed
        status["terminating"] = len(terminating)
        status["ready"] = sum(1 for p in active if pod_is_ready(p))
        status["uncountedTerminatedPods"] = {}
        ordered = {
            k: status[k]
            for k in (
                "conditions",
                "startTime",
                "completionTime",
                "active",
                "succeeded",
                "failed",
                "terminating",
                "uncountedTerminatedPods",
                "ready",
            )
            if k in status
        }
        if ordered != old:
            self.store.update(JOBS, {**job, "status": ordered}, subresource="status")

    def backoff_remaining(self, job: Obj, pods: list[Obj], failed: int) -> float:
        """Failed Pods are replaced after 10s, doubling up to 6 minutes (scaled like the kubelet's timings)."""
        if not failed:
            return 0.0
        last = 0.0
        for pod in pods:
            if (pod.get("status") or {}).get("phase") == "Failed":
                for cs in pod["status"].get("containerStatuses") or ():
                    finished_at = ((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")
                    last = max(last, parse_time(finished_at) or 0.0)
        delay = self.config.delay(min(10.0 * 2 ** (failed - 1), 360.0))
        return max(0.0, last + delay - self.ctx.clock()) if last else 0.0

    def delete_pod(self, job: Obj, pod: Obj) -> None:
        try:
            self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except ApiError:
            return
        self.recorder.record(
            JOBS, job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=COMPONENT
        )
