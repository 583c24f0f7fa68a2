"""A CronJob's schedule in the edit form: what kube-apiserver refuses is refused before anything is sent, with a
clear message, and what it takes is taken (checked against the cluster's own dry run, on democluster and on the real
control plane)."""

from __future__ import annotations

import html
import itertools
import os

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.test import Client

from tests.support.edit import EditCluster, edit_url, form_data, snapshot
from workloads.edits.validators import cron_schedule
from workloads.models import ChangeRecord, Cluster
from workloads.sync.watcher import sync_once

_names = itertools.count(1)

# What kube-apiserver 1.36 answers to each (201 or 422), as read from it; the last test asks it again.
TAKEN = [
    "*/5 * * * *",
    "0 0 ? * *",
    "0 9 * * MON-FRI",
    "0 0 * jan,jul sun",
    "0,  * * * *",
    "*/60 * * * *",
    "0 0 31 2 *",
    "@hourly",
    "@annually",
    "@midnight",
    "@every 1h30m",
]
REFUSED = {
    "99 99 99 99 99": "field 1 (99) is not valid",
    "0 0 * * 7": "field 5 (7) is not valid",
    "* * * 13 *": "field 4 (13) is not valid",
    "5-1 * * * *": "field 1 (5-1) is not valid",
    "*/0 * * * *": "field 1 (*/0) is not valid",
    "0 0 L * *": "field 3 (L) is not valid",
    "0 0 * * 1#2": "field 5 (1#2) is not valid",
    "* * * *": "five fields",
    "0 * * * * *": "five fields",
    "@every": "the shortcuts are @yearly",
    "@reboot": "the shortcuts are @yearly",
    "@HOURLY": "the shortcuts are @yearly",
    "TZ=UTC 0 0 * * *": "Kubernetes refuses TZ= and CRON_TZ= in a schedule",
    "CRON_TZ=Europe/Paris 0 0 * * *": "Kubernetes refuses TZ= and CRON_TZ= in a schedule",
}


def cronjob_manifest(name: str, schedule: str = "*/5 * * * *") -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "schedule": schedule,
            "suspend": True,
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "report", "image": "busybox:1.36", "command": ["true"]}],
                        }
                    }
                }
            },
        },
    }


@pytest.fixture
def cronjob(edit_cluster: EditCluster, cluster_row: Cluster) -> str:
    name = f"report-{os.getpid()}-{next(_names)}"
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(cronjob_manifest(name)))
    sync_once(cluster_row, ["CronJob"])
    yield name
    edit_cluster.kubectl("delete", "cronjob", name, "--wait=false", check=False)


def test_it_refuses_what_kubernetes_refuses_and_says_why(
    editor_client: Client, cronjob: str, edit_cluster: EditCluster
) -> None:
    url = edit_url(cronjob, kind="cronjob")
    before = snapshot(edit_cluster, cronjob, kind="cronjob")
    for schedule, why in REFUSED.items():
        data = form_data(editor_client.get(url).content.decode())
        data["preview"] = "1"
        data["workload-schedule"] = schedule
        response = editor_client.post(url, data)
        assert response.status_code == 200
        assert "diff" not in response.context, schedule  # the form again, not a preview
        page = html.unescape(response.content.decode())
        assert why in page, (schedule, response.context["form"].errors)
    assert snapshot(edit_cluster, cronjob, kind="cronjob") == before
    assert ChangeRecord.objects.filter(name=cronjob, outcome="previewed").count() == 0


def test_it_previews_a_schedule_kubernetes_takes(editor_client: Client, cronjob: str) -> None:
    url = edit_url(cronjob, kind="cronjob")
    data = form_data(editor_client.get(url).content.decode())
    data["preview"] = "1"
    data["workload-schedule"] = "@every 1h30m"
    response = editor_client.post(url, data)
    assert response.status_code == 200
    assert "diff" in response.context, response.context["form"].errors
    assert "@every 1h30m" in html.unescape(response.content.decode())


def test_it_agrees_with_the_clusters_own_dry_run(edit_cluster: EditCluster) -> None:
    for schedule in [*TAKEN, *REFUSED]:
        manifest = cronjob_manifest(f"dry-{next(_names)}", schedule)
        answer = edit_cluster.kubectl(
            "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(manifest), check=False
        )
        try:
            cron_schedule(schedule)
            ours = True
        except ValidationError:
            ours = False
        assert ours == (answer.returncode == 0), (schedule, answer.stderr)
        assert (schedule in TAKEN) == ours, schedule
