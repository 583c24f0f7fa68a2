"""democluster takes and refuses a CronJob's ``spec.schedule`` and ``spec.timeZone`` as kube-apiserver does, in its
words: the same dry-run creates to both servers, answers compared (as test_answers.py compares its cases)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.differential.conftest import Server, known_differences
from tests.differential.test_answers import differences, normalize, status_body

SCHEDULES = [
    "*/1 * * * *",
    "*/15 9-17 * * 1-5",
    "0 0 ? * *",
    "0 0 * JAN,FEB sun",
    "0,  * * * *",
    "5/15 * * * *",
    "*/60 * * * *",
    "0 0 31 2 *",
    "\t0 0 * * * ",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@every 1m",
    "@every 5m30s",
    "99 99 99 99 99",
    "0 0 0 * *",
    "* 24 * * *",
    "* * 32 * *",
    "* * * 13 *",
    "0 0 * * 7",
    "0 0 * * 0-7",
    "5-1 * * * *",
    "0 0 * * 6-0",
    "*/0 * * * *",
    "0 0 0/0 * *",
    "-5 * * * *",
    "*/ * * * *",
    "0 0 L * *",
    "0 0 1W * *",
    "0 0 * * 1#2",
    "H * * * *",
    "* * * *",
    "* * * * * *",
    " ",
    "@every",
    "@reboot",
    "@HOURLY",
    "TZ=UTC 0 0 * * *",
    "CRON_TZ=Europe/Paris 0 0 * * *",
]
TIME_ZONES = ["UTC", "Europe/Paris", "Etc/GMT+5", "EST", "Local", "local", "", "utc", " UTC", "Nowhere/City", "+01:00"]


def cronjob(name: str, schedule: str, time_zone: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schedule": schedule,
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox:1.36"}]}
                }
            }
        },
    }
    if time_zone is not None:
        spec["timeZone"] = time_zone
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": spec}


def dry_run_create(server: Server, ns: str, name: str, schedule: str, time_zone: str | None = None) -> Any:
    status, body = server.call(
        "POST", f"/apis/batch/v1/namespaces/{ns}/cronjobs", cronjob(name, schedule, time_zone), params={"dryRun": "All"}
    )
    if status == 201:
        return {"code": status, "schedule": body["spec"]["schedule"], "timeZone": body["spec"].get("timeZone")}
    return status_body(status, body)


def schedules(server: Server, ns: str) -> Any:
    return {schedule: dry_run_create(server, ns, f"s{i}", schedule) for i, schedule in enumerate(SCHEDULES)}


def time_zones(server: Server, ns: str) -> Any:
    found = {zone: dry_run_create(server, ns, f"z{i}", "0 9 * * *", zone) for i, zone in enumerate(TIME_ZONES)}
    found["both"] = dry_run_create(server, ns, "both", "TZ=UTC 0 9 * * *", "UTC")
    found["both-wrong"] = dry_run_create(server, ns, "both-wrong", "61 * * * *", "Local")
    return found


CASES = {"cronjob-schedules": schedules, "cronjob-time-zones": time_zones}


@pytest.mark.parametrize("name", sorted(CASES))
def test_democluster_takes_and_refuses_schedules_as_kubernetes_does(
    name: str, servers: tuple[Server, Server], namespace: str
) -> None:
    demo, real = servers
    got = {}
    for server in (demo, real):
        got[server.name] = normalize(copy.deepcopy(CASES[name](server, namespace)))
        got[server.name] = json.loads(json.dumps(got[server.name]).replace(namespace, "<ns>"))
    found = differences(got["democluster"], got["kubernetes"])
    if name in known_differences():
        assert found, f"{name} is listed in democluster/README.md but both servers now agree: remove it from the list"
        return
    assert not found, f"{name}: democluster differs from Kubernetes:\n" + "\n".join(found)
    # The cases mean something: each server refused some and took some.
    codes = {answer["code"] for answer in got["kubernetes"].values()}
    assert codes == {201, 422}, codes
