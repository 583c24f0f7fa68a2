"""A change is recorded before it is sent and its outcome after: when the audit trail cannot be written nothing is
sent, and when the answer cannot be recorded the row says the outcome is unknown."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import yaml
from django.db import connection
from django.test import Client

from tests.support.edit import EditCluster, edit_url, form_data, settle
from tests.support.stack import wait_for
from workloads.edits import apply as edit_apply
from workloads.models import ChangeRecord, Cluster
from workloads.sync.watcher import sync_once


@pytest.fixture
def refuse() -> Callable[[str], None]:
    """Make the database refuse INSERT or UPDATE of audit rows, as a write-locked database does (a trigger:
    the test's transaction rolls it back)."""

    def refuse_(event: str) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(
                    f"CREATE TRIGGER audit_refused BEFORE {event} ON workloads_changerecord "
                    "BEGIN SELECT RAISE(ABORT, 'database is locked'); END"
                )
            else:
                cursor.execute(
                    "CREATE FUNCTION audit_refused() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'database is locked'; END $$ LANGUAGE plpgsql"
                )
                cursor.execute(
                    f"CREATE TRIGGER audit_refused BEFORE {event} ON workloads_changerecord "
                    "FOR EACH ROW EXECUTE FUNCTION audit_refused()"
                )

    return refuse_


def scale_url(name: str) -> str:
    return f"/c/demo/ns/default/deployment/{name}/actions/scale/"


def test_it_sends_nothing_when_the_attempt_cannot_be_recorded(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster, refuse
) -> None:
    refuse("INSERT")
    response = editor_client.post(scale_url(deployment), {"replicas": "3"})
    assert response.status_code == 503
    assert "Nothing was sent to the cluster" in response.content.decode()
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 2


def test_it_says_the_outcome_is_unknown_when_the_answer_cannot_be_recorded(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster, refuse
) -> None:
    refuse("UPDATE")
    response = editor_client.post(scale_url(deployment), {"replicas": "3"}, follow=True)
    assert response.status_code == 200
    assert "The audit trail could not record the outcome" in response.content.decode()
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 3
    [row] = ChangeRecord.objects.filter(name=deployment, action="scale")
    assert row.outcome == ChangeRecord.Outcome.UNKNOWN and row.patch == {"spec": {"replicas": 3}}
    assert "unknown" in row.message
    settle(edit_cluster, deployment)


def test_it_records_the_attempt_and_then_its_outcome_on_one_row(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    assert editor_client.post(scale_url(deployment), {"replicas": "3"}).status_code == 302
    [row] = ChangeRecord.objects.filter(name=deployment, action="scale")
    assert row.outcome == ChangeRecord.Outcome.APPLIED and row.diff == "spec.replicas: 2 -> 3"
    settle(edit_cluster, deployment)


def test_a_manifest_is_not_applied_when_its_rows_cannot_be_written(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster, refuse
) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: audit-first-pod\n  namespace: default\n"
        "spec:\n  containers:\n  - name: app\n    image: nginx:1.25\n"
    )
    refuse("INSERT")
    response = editor_client.post("/c/demo/apply/", {"apply": "1", "payload": edit_apply.seal(text)})
    assert response.status_code == 503
    assert edit_cluster.kubectl("get", "pod", "audit-first-pod", check=False).returncode != 0


JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "", "namespace": "default"},
    "spec": {
        "backoffLimit": 0,
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox:1.36"}]}},
    },
}


@pytest.fixture
def job(edit_cluster: EditCluster, cluster_row: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"batch-{abs(hash(request.node.nodeid)) % 100000}"
    manifest = {**JOB, "metadata": {**JOB["metadata"], "name": name}}
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
    # Done, and its status no longer moving: the confirmation's resourceVersion is still the Job's when it is sent.
    edit_cluster.kubectl("wait", "--for=condition=complete", f"job/{name}", "--timeout=60s")
    last = [""]

    def still() -> bool:
        rv = edit_cluster.get("job", name)["metadata"]["resourceVersion"]
        same, last[0] = rv == last[0], rv
        return same

    wait_for(still, timeout=15, interval=0.3, what="the Job's status to settle")
    sync_once(cluster_row, ["Job"])
    yield name
    edit_cluster.kubectl("delete", "job", name, "--wait=false", check=False)


def _recreate_confirmation(client: Client, name: str) -> dict:
    url = edit_url(name, kind="job")
    data = form_data(client.get(url).content.decode())
    data["containers-0-image"] = "busybox:1.37"
    page = client.post(url, data).content.decode()
    payload = re.search(r'name="payload" value="([^"]+)"', page)
    assert payload, page[:3000]
    return {"payload": payload[1], "confirm": "1"}


def test_a_job_recreate_sends_nothing_when_its_attempt_cannot_be_recorded(
    editor_client: Client, job: str, edit_cluster: EditCluster, cluster_row: Cluster, refuse
) -> None:
    uid = edit_cluster.get("job", job)["metadata"]["uid"]
    confirmation = _recreate_confirmation(editor_client, job)
    rv = edit_cluster.get("job", job)["metadata"]["resourceVersion"]
    refuse("INSERT")
    response = editor_client.post(edit_url(job, "edit/recreate/", kind="job"), confirmation)
    assert response.status_code == 503
    assert "Nothing was sent to the cluster" in response.content.decode()
    after = edit_cluster.get("job", job)["metadata"]
    assert after["uid"] == uid and after["resourceVersion"] == rv  # not deleted, not recreated, not touched


def test_a_job_recreate_records_the_attempt_then_its_outcome_on_one_row(
    editor_client: Client, job: str, edit_cluster: EditCluster, cluster_row: Cluster, refuse
) -> None:
    uid = edit_cluster.get("job", job)["metadata"]["uid"]
    confirmation = _recreate_confirmation(editor_client, job)
    refuse("UPDATE")  # the answer cannot be recorded: the row written before sending stays "unknown"
    response = editor_client.post(edit_url(job, "edit/recreate/", kind="job"), confirmation, follow=True)
    assert response.status_code == 200
    assert "The audit trail could not record the outcome" in response.content.decode()
    new = wait_for(lambda: (edit_cluster.find("job", job) or {}).get("metadata", {}).get("uid"), timeout=10)
    assert new != uid
    assert edit_cluster.get("job", job)["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    [row] = ChangeRecord.objects.filter(name=job, action="recreate")
    assert row.outcome == ChangeRecord.Outcome.UNKNOWN and row.user.username == "eddie-editor"
