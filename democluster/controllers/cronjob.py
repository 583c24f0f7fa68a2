"""The CronJob controller (the v2 one): Jobs named ``<cronjob>-<unix minutes>``, concurrency policy,
suspend, history limits, and the schedule in ``spec.timeZone`` (democluster/cron.py, on cronsim)."""

from __future__ import annotations

from datetime import UTC, datetime

from democluster.controllers.base import Controller, get_condition, is_deleting, owner_reference, parse_time
from democluster.controllers.job import finished
from democluster.cron import CronError, Schedule
from democluster.errors import ApiError
from democluster.resources import CRONJOBS, JOBS, Resource
from democluster.store import Obj, clone

COMPONENT = "cronjob-controller"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class CronJobController(Controller):
    name = "cronjob"
    res = CRONJOBS

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is CRONJOBS:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is JOBS:
            self.enqueue_owner(new, "CronJob")

    def reconcile(self, namespace: str, name: str) -> None:
        cj = self.store.try_get(CRONJOBS, namespace, name)
        if cj is None or is_deleting(cj):
            return
        spec = cj["spec"]
        status = clone(cj.get("status") or {})
        jobs = self.index.owned(cj["metadata"]["uid"], JOBS)
        # Forget finished Jobs from the active list, and record the latest success.
        active_refs = []
        by_uid = {j["metadata"]["uid"]: j for j in jobs}
        for ref in status.get("active") or []:
            job = by_uid.get(ref.get("uid"))
            if job is None:
                continue
            outcome = finished(job)
            if outcome is None:
                active_refs.append(ref)
                continue
            self.recorder.record(
                CRONJOBS,
                cj,
                "Normal",
                "SawCompletedJob",
                f"Saw completed job: {job['metadata']['name']}, condition: {outcome}",
                component=COMPONENT,
            )
            if outcome == "Complete":
                completed = (job.get("status") or {}).get("completionTime")
                if completed and completed > status.get("lastSuccessfulTime", ""):
                    status["lastSuccessfulTime"] = completed
        known = {ref.get("uid") for ref in active_refs}
        for job in jobs:
            if job["metadata"]["uid"] not in known and finished(job) is None and not is_deleting(job):
                active_refs.append(self.job_ref(job))
        try:
            schedule = Schedule(spec.get("schedule", ""), spec.get("timeZone"))
        except CronError:
            self.write_status(cj, status, active_refs)
            return
        now = datetime.fromtimestamp(self.ctx.clock(), UTC)
        start_text = status.get("lastScheduleTime") or cj["metadata"].get("creationTimestamp")
        start = datetime.fromtimestamp(parse_time(start_text) or self.ctx.clock(), UTC)
        if not spec.get("suspend"):
            scheduled, _ = schedule.last_before(start, now)
            deadline = spec.get("startingDeadlineSeconds")
            too_late = scheduled is not None and deadline is not None and (now - scheduled).total_seconds() > deadline
            if scheduled is not None and not too_late:
                policy = spec.get("concurrencyPolicy", "Allow")
                if policy == "Forbid" and active_refs:
                    self.recorder.record(
                        CRONJOBS,
                        cj,
                        "Normal",
                        "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid",
                        component=COMPONENT,
                    )
                else:
                    if policy == "Replace":
                        for ref in active_refs:
                            self.delete_job(cj, ref["name"])
                        active_refs = []
                    job = self.create_job(cj, scheduled)
                    if job is not None:
                        active_refs.append(self.job_ref(job))
                    status["lastScheduleTime"] = rfc3339(scheduled)
            elif scheduled is not None:
                status["lastScheduleTime"] = rfc3339(scheduled)
        self.write_status(cj, status, active_refs)
        self.cleanup(cj, jobs)
        # Come back at the next scheduled time (a schedule whose day never comes, "0 0 31 2 *", never does).
        wake = schedule.next_after(now)
        if wake is not None:
            self.enqueue((namespace, name), max(0.5, (wake - now).total_seconds() + 0.2))

    def job_ref(self, job: Obj) -> Obj:
        m = job["metadata"]
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": m["name"],
            "namespace": m["namespace"],
            "resourceVersion": m["resourceVersion"],
            "uid": m["uid"],
        }

    def create_job(self, cj: Obj, scheduled: datetime) -> Obj | None:
        template = clone(cj["spec"].get("jobTemplate") or {})
        md = template.get("metadata") or {}
        name = f"{cj['metadata']['name']}-{int(scheduled.timestamp()) // 60}"
        metadata: Obj = {
            "name": name,
            "namespace": cj["metadata"]["namespace"],
            "labels": dict(md.get("labels") or {}),
            "annotations": {**(md.get("annotations") or {}), SCHEDULED_ANNOTATION: rfc3339(scheduled)},
            "ownerReferences": [owner_reference(CRONJOBS, cj)],
        }
        if not metadata["labels"]:
            del metadata["labels"]
        try:
            job = self.store.create(JOBS, {"metadata": metadata, "spec": template.get("spec") or {}})
        except ApiError as exc:
            if exc.code == 409:
                return None
            self.recorder.record(
                CRONJOBS, cj, "Warning", "FailedCreate", f"Error creating job: {exc.message}", component=COMPONENT
            )
            return None
        self.recorder.record(CRONJOBS, cj, "Normal", "SuccessfulCreate", f"Created job {name}", component=COMPONENT)
        return job

    def write_status(self, cj: Obj, status: Obj, active_refs: list[Obj]) -> None:
        if active_refs:
            status["active"] = active_refs
        else:
            status.pop("active", None)
        if status != (cj.get("status") or {}):
            self.store.update(CRONJOBS, {**cj, "status": status}, subresource="status")

    def cleanup(self, cj: Obj, jobs: list[Obj]) -> None:
        for outcome, field, default in (
            ("Complete", "successfulJobsHistoryLimit", 3),
            ("Failed", "failedJobsHistoryLimit", 1),
        ):
            limit = cj["spec"].get(field, default)
            if limit is None:
                continue
            done = [j for j in jobs if finished(j) == outcome and not is_deleting(j)]
            done.sort(key=lambda j: (get_condition(j.get("status"), outcome) or {}).get("lastTransitionTime", ""))
            for job in done[: max(0, len(done) - limit)]:
                self.delete_job(cj, job["metadata"]["name"])

    def delete_job(self, cj: Obj, name: str) -> None:
        try:
            self.store.delete(JOBS, cj["metadata"]["namespace"], name, propagation="Background")
        except ApiError:
            return
        self.recorder.record(CRONJOBS, cj, "Normal", "SuccessfulDelete", f"Deleted job {name}", component=COMPONENT)
