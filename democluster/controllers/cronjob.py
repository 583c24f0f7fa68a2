"""The CronJob controller (the v2 one): Jobs named ``<cronjob>-<unix minutes>``, concurrency policy,
suspend, history limits, and a small five-field cron parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from democluster.controllers.base import Controller, get_condition, is_deleting, owner_reference, parse_time
from democluster.controllers.job import finished
from democluster.errors import ApiError
from democluster.resources import CRONJOBS, JOBS, Resource
from democluster.store import Obj, clone

COMPONENT = "cronjob-controller"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
NAMES = {
    **{
        m: i + 1
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    },
    **{d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


class CronError(ValueError):
    pass


def _value(text: str, low: int, high: int) -> int:
    text = text.lower()
    value = NAMES[text] if text in NAMES else int(text) if text.isdigit() else None
    if value is None:
        raise CronError(f"failed to parse int from {text}")
    if high == 6 and value == 7:
        value = 0  # Sunday written as 7
    if not low <= value <= high:
        raise CronError(f"value {value} out of range [{low}, {high}]")
    return value


def parse_field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad step in {text}")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, low, high), _value(b, low, high)
        else:
            start = _value(part, low, high)
            end = high if step > 1 else start
        if start > end:
            raise CronError(f"beginning of range after end: {part}")
        values.update(range(start, end + 1, step))
    return values


class Schedule:
    """A parsed five-field schedule, evaluated in UTC."""

    def __init__(self, text: str) -> None:
        spec = MACROS.get(text.strip(), text.strip())
        if spec.startswith("@every"):
            raise CronError("@every is not supported")
        fields = spec.split()
        if len(fields) != 5:
            raise CronError(f"expected exactly 5 fields, found {len(fields)}: {text}")
        self.minutes, self.hours, self.days, self.months, self.weekdays = (
            parse_field(f, lo, hi) for f, (lo, hi) in zip(fields, RANGES, strict=True)
        )
        self.any_day = fields[2] in ("*", "?")
        self.any_weekday = fields[4] in ("*", "?")

    def matches(self, t: datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        day_ok = t.day in self.days
        weekday_ok = (t.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok  # cron's rule: either restricted day field may match

    def next_after(self, t: datetime) -> datetime:
        """The first scheduled minute strictly after ``t``."""
        candidate = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 5):
            if candidate.month not in self.months:
                candidate = (candidate.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if self.matches(candidate):
                return candidate
            if candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
                continue
            candidate += timedelta(minutes=1)
        raise CronError("no time matches the schedule")

    def last_before(self, start: datetime, now: datetime) -> tuple[datetime | None, int]:
        """The most recent scheduled time in (start, now], and how many were missed (capped at 100)."""
        last, missed = None, 0
        t = self.next_after(start)
        while t <= now:
            last, missed = t, missed + 1
            if missed > 100:
                break
            t = self.next_after(t)
        return last, missed


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
            schedule = Schedule(spec.get("schedule", ""))
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
        # Come back at the next scheduled minute.
        wake = schedule.next_after(now)
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
