"""democluster's CronJob schedules: admission takes and refuses them in kube-apiserver's words (the differential suite
compares them with the real server), and the controller runs them in spec.timeZone, @every included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from democluster import admission, controllers
from democluster.config import SimConfig
from democluster.controllers.base import Context
from democluster.cron import Schedule
from democluster.errors import ApiError
from democluster.resources import CRONJOBS, JOBS
from democluster.store import Obj, Store

SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"


@pytest.fixture
async def cronjobs() -> AsyncIterator[Context]:
    """The CronJob controller alone on a store, with a clock the test moves."""
    store = Store()
    admission.register(store)
    ctx = controllers.build(store, SimConfig(nodes=1, time_scale=0.02, tick=0.01))
    task = asyncio.get_running_loop().create_task(ctx.controllers["cronjob"].run())
    yield ctx
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    store.listeners.clear()


def cronjob(name: str, schedule: str, time_zone: str | None = None) -> Obj:
    spec: Obj = {
        "schedule": schedule,
        "jobTemplate": {
            "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x"}]}}}
        },
    }
    if time_zone is not None:
        spec["timeZone"] = time_zone
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def create(ctx: Context, obj: Obj, created: str) -> None:
    """Create the CronJob as if at ``created`` (its schedule counts from its creation)."""
    made = ctx.store.create(CRONJOBS, obj)
    key = ("default", made["metadata"]["name"])
    ctx.store.objects[CRONJOBS.key][key] = {**made, "metadata": {**made["metadata"], "creationTimestamp": created}}


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def wait_for_job(ctx: Context, cronjob: str, scheduled: str) -> Obj:
    name = f"{cronjob}-{int(at(scheduled)) // 60}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (job := ctx.store.try_get(JOBS, "default", name)) is None:
        assert loop.time() < deadline, f"no Job {name} for the time {scheduled}"
        await asyncio.sleep(0.02)
    return job


async def test_it_runs_the_schedule_in_its_time_zone(cronjobs: Context) -> None:
    now = [at("2030-01-01T23:30:00+00:00")]
    cronjobs.clock = lambda: now[0]
    create(cronjobs, cronjob("in-utc", "0 9 * * *"), "2030-01-01T23:30:00Z")
    create(cronjobs, cronjob("in-tokyo", "0 9 * * *", "Asia/Tokyo"), "2030-01-01T23:30:00Z")
    now[0] = at("2030-01-02T00:00:05+00:00")  # 09:00 in Tokyo, midnight in UTC
    controller = cronjobs.controllers["cronjob"]
    controller.enqueue(("default", "in-utc"))  # reconciled first (the queue keeps its order)
    controller.enqueue(("default", "in-tokyo"))
    job = await wait_for_job(cronjobs, "in-tokyo", "2030-01-02T00:00:00+00:00")
    assert job["metadata"]["annotations"][SCHEDULED] == "2030-01-02T00:00:00Z"
    assert not cronjobs.index.owned(cronjobs.store.get(CRONJOBS, "default", "in-utc")["metadata"]["uid"], JOBS)
    assert "lastScheduleTime" not in (cronjobs.store.get(CRONJOBS, "default", "in-utc").get("status") or {})

    now[0] = at("2030-01-02T09:00:05+00:00")
    controller.enqueue(("default", "in-utc"))
    await wait_for_job(cronjobs, "in-utc", "2030-01-02T09:00:00+00:00")


async def test_it_runs_every_duration_from_its_creation(cronjobs: Context) -> None:
    now = [at("2030-01-01T00:00:00+00:00")]
    cronjobs.clock = lambda: now[0]
    create(cronjobs, cronjob("every", "@every 1m30s"), "2030-01-01T00:00:00Z")
    controller = cronjobs.controllers["cronjob"]
    for due in ("2030-01-01T00:01:30+00:00", "2030-01-01T00:03:00+00:00"):
        now[0] = at(due) + 1
        controller.enqueue(("default", "every"))
        job = await wait_for_job(cronjobs, "every", due)
        assert job["metadata"]["annotations"][SCHEDULED] == due.replace("+00:00", "Z")


async def test_a_day_no_month_has_is_taken_and_never_comes(cronjobs: Context) -> None:
    cronjobs.clock = lambda: at("2030-03-01T00:00:05+00:00")
    create(cronjobs, cronjob("never", "0 0 30 2 *"), "2030-01-01T00:00:00Z")  # kube-apiserver takes it too
    controller = cronjobs.controllers["cronjob"]
    controller.reconcile("default", "never")
    assert not cronjobs.store.list(JOBS)
    assert ("default", "never") not in controller.timers  # nothing to come back for


@pytest.mark.parametrize(
    ("schedule", "time_zone", "message"),
    [
        (
            "99 99 99 99 99",
            None,
            'spec.schedule: Invalid value: "99 99 99 99 99": end of range (99) above maximum (59)',
        ),
        ("0 0 * * 7", None, 'spec.schedule: Invalid value: "0 0 * * 7": end of range (7) above maximum (6): 7'),
        ("0 0 L * *", None, "failed to parse int from L"),
        ("@reboot", None, "unrecognized descriptor: @reboot"),
        ("TZ=UTC 0 0 * * *", None, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("0 0 * * *", "Local", "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"),
        ("0 0 * * *", "Mars/Olympus", 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'),
    ],
)
def test_admission_refuses_what_kube_apiserver_refuses(schedule: str, time_zone: str | None, message: str) -> None:
    store = Store()
    admission.register(store)
    with pytest.raises(ApiError) as refused:
        store.create(CRONJOBS, cronjob("bad", schedule, time_zone))
    assert refused.value.code == 422
    assert message in refused.value.message
    assert not store.list(CRONJOBS)


def test_admission_takes_every_and_the_descriptors() -> None:
    store = Store()
    admission.register(store)
    for i, schedule in enumerate(("@every 5m", "@hourly", "@annually", "0 0 ? * sun", "0 0 31 2 *")):
        store.create(CRONJOBS, cronjob(f"ok-{i}", schedule, "Europe/Paris"))
    assert len(store.list(CRONJOBS)) == 5


def test_a_stepped_day_field_is_no_any_day_as_in_go_cron() -> None:
    """robfig/cron (the CronJob controller's parser) runs "0 0 */2 * 1" on odd days or Mondays, not odd Mondays."""
    tuesday = datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    assert Schedule("0 0 */2 * 1").next_after(tuesday) == datetime.fromisoformat("2030-01-03T00:00:00+00:00")
    assert Schedule("0 0 * * 1").next_after(tuesday) == datetime.fromisoformat("2030-01-07T00:00:00+00:00")
    assert Schedule("0 0 ?,5 * 1").next_after(tuesday) == datetime.fromisoformat("2030-01-07T00:00:00+00:00")
