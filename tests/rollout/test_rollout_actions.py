"""Rollout actions against a real democluster over HTTPS: scale, pause, resume, restart, undo, delete a Pod.

Each is editor-only, changes the cluster as kubectl then shows it, and leaves a ChangeRecord.
"""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client

from tests.support.edit import EditCluster, settle
from tests.support.stack import wait_for
from workloads.models import ChangeRecord, Cluster, Workload
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

Outcome = ChangeRecord.Outcome


def url(name: str, action: str, kind: str = "deployment") -> str:
    return f"/c/demo/ns/default/{kind}/{name}/{action}/"


def payload_of(html: str) -> str:
    found = re.search(r'name="payload" value="([^"]+)"', html)
    assert found, "the preview has no confirm form"
    return found[1]


def records(name: str, action: str) -> list[ChangeRecord]:
    return list(ChangeRecord.objects.filter(name=name, action=action).order_by("created_at"))


def test_a_viewer_cannot_scale_and_the_refusal_is_recorded(
    viewer_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    response = viewer_client.post(url(deployment, "actions/scale"), {"replicas": "5"})
    assert response.status_code == 403
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 2
    [record] = records(deployment, "scale")
    assert record.outcome == Outcome.REFUSED
    for action in ("pause", "resume", "restart", "undo"):
        assert viewer_client.post(url(deployment, f"actions/{action}")).status_code == 403
    assert viewer_client.get(url(deployment, "actions/undo")).status_code == 403


def test_it_scales_through_the_scale_subresource(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    response = editor_client.post(url(deployment, "actions/scale"), {"replicas": "3"})
    assert response.status_code == 302 and response["Location"] == url(deployment, "").rstrip("/") + "/"
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 3
    settle(edit_cluster, deployment)
    [record] = records(deployment, "scale")
    assert record.outcome == Outcome.APPLIED and record.patch == {"spec": {"replicas": 3}}
    assert record.diff == "spec.replicas: 2 -> 3" and record.user.username == "eddie-editor"

    assert editor_client.post(url(deployment, "actions/scale"), {"replicas": "-1"}).status_code == 302
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 3
    assert records(deployment, "scale")[-1].outcome == Outcome.REFUSED


def test_it_pauses_and_resumes(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    assert editor_client.post(url(deployment, "actions/pause")).status_code == 302
    assert edit_cluster.get("deployment", deployment)["spec"]["paused"] is True
    # A paused rollout stays paused: a new template makes no new ReplicaSet.
    edit_cluster.kubectl("set", "image", f"deployment/{deployment}", "app=nginx:1.27")
    rs_before = edit_cluster.kubectl("get", "rs", "-l", f"app={deployment}", "-o", "name").stdout.split()
    assert len(rs_before) == 1

    assert editor_client.post(url(deployment, "actions/resume")).status_code == 302
    assert "paused" not in edit_cluster.get("deployment", deployment)["spec"]
    edit_cluster.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=30s")
    assert [r.outcome for r in records(deployment, "pause") + records(deployment, "resume")] == [Outcome.APPLIED] * 2

    # Resuming what is not paused is refused, not sent.
    editor_client.post(url(deployment, "actions/resume"))
    assert records(deployment, "resume")[-1].outcome == Outcome.REFUSED


def test_it_restarts_after_a_dry_run_preview(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    preview = editor_client.post(url(deployment, "actions/restart"))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt" in html
    assert "kubectl.kubernetes.io/restartedAt" not in str(edit_cluster.get("deployment", deployment)["spec"])
    assert records(deployment, "restart")[-1].outcome == Outcome.PREVIEWED

    response = editor_client.post(url(deployment, "actions/restart"), {"payload": payload_of(html)})
    assert response.status_code == 302
    d = edit_cluster.get("deployment", deployment)
    assert rollouts_restarted_at(d)
    edit_cluster.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=30s")
    assert (
        edit_cluster.get("deployment", deployment)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == "2"
    )
    assert records(deployment, "restart")[-1].outcome == Outcome.APPLIED


def rollouts_restarted_at(d: dict) -> str:
    return (d["spec"]["template"]["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/restartedAt", "")


def _second_revision(edit_cluster: EditCluster, cluster_row: Cluster, name: str) -> None:
    edit_cluster.kubectl("set", "image", f"deployment/{name}", "app=nginx:1.27")
    settle(edit_cluster, name)
    sync_once(cluster_row)


def test_it_undoes_to_the_previous_revision_like_kubectl(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    _second_revision(edit_cluster, cluster_row, deployment)
    preview = editor_client.post(url(deployment, "actions/undo"))
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Undo: back to revision 1" in html
    assert 'data-path="spec.template.spec.containers[app].image"' in html
    assert html.count('<tr class="change-') == 1  # only the image differs

    response = editor_client.post(url(deployment, "actions/undo"), {"payload": payload_of(html)})
    assert response.status_code == 302
    d = edit_cluster.get("deployment", deployment)
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]
    edit_cluster.kubectl("rollout", "status", f"deployment/{deployment}", "--timeout=30s")
    settle(edit_cluster, deployment)
    history = edit_cluster.kubectl("rollout", "history", f"deployment/{deployment}").stdout.split()
    assert "3" in history and "1" not in history[history.index("CHANGE-CAUSE") + 1 :]  # revision 1 became 3
    record = records(deployment, "undo")[-1]
    assert record.outcome == Outcome.APPLIED and record.revision  # the template hash it went back to
    assert record.patch == [{"op": "replace", "path": "/spec/template", "value": record.patch[0]["value"]}]

    # The history names who made revision 3: the undo, by the editor.
    sync_once(cluster_row)
    page = editor_client.get(url(deployment, "revisions")).content.decode()
    row = page[page.index('id="revision-3"') :].split("</tr>")[0]
    assert "eddie-editor (undo in Podium)" in row and "nginx:1.25" in row


def test_undo_while_paused_is_refused_with_a_clear_message(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    _second_revision(edit_cluster, cluster_row, deployment)
    previewed = editor_client.post(url(deployment, "actions/undo"), {"revision": "1"}).content.decode()
    edit_cluster.kubectl("rollout", "pause", f"deployment/{deployment}")

    response = editor_client.post(url(deployment, "actions/undo"), {"payload": payload_of(previewed)})
    assert response.status_code == 409
    text = response.content.decode()
    assert "You cannot undo a paused Deployment: resume it first" in text
    assert (
        edit_cluster.get("deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    )
    assert records(deployment, "undo")[-1].outcome == Outcome.REFUSED

    again = editor_client.post(url(deployment, "actions/undo"))
    assert again.status_code == 409 and 'name="payload"' not in again.content.decode()
    refused_restart = editor_client.post(url(deployment, "actions/restart"))
    assert (
        refused_restart.status_code == 409
        and "You cannot restart a paused Deployment" in refused_restart.content.decode()
    )


def test_undo_of_a_statefulset_sends_its_controller_revision(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db-undo", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "serviceName": "db-undo",
            "selector": {"matchLabels": {"app": "db-undo"}},
            "template": {
                "metadata": {"labels": {"app": "db-undo"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
            },
        },
    }
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(sts))
    try:
        edit_cluster.kubectl("rollout", "status", "sts/db-undo", "--timeout=30s")
        edit_cluster.kubectl("set", "image", "sts/db-undo", "db=postgres:17")
        edit_cluster.kubectl("rollout", "status", "sts/db-undo", "--timeout=30s")
        sync_once(cluster_row)
        html = editor_client.post(url("db-undo", "actions/undo", "statefulset")).content.decode()
        assert 'data-path="spec.template.spec.containers[db].image"' in html
        assert (
            editor_client.post(url("db-undo", "actions/undo", "statefulset"), {"payload": payload_of(html)}).status_code
            == 302
        )
        image = edit_cluster.get("statefulset", "db-undo")["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "postgres:16"
        edit_cluster.kubectl("rollout", "status", "sts/db-undo", "--timeout=30s")
        assert records("db-undo", "undo")[-1].outcome == Outcome.APPLIED
    finally:
        edit_cluster.kubectl("delete", "sts", "db-undo", "--wait=false", check=False)


def test_it_deletes_a_pod_and_the_controller_replaces_it(
    editor_client: Client, viewer_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    sync_once(cluster_row)
    pods = edit_cluster.kubectl("get", "pods", "-l", f"app={deployment}", "-o", "json").stdout
    victim = yaml.safe_load(pods)["items"][0]["metadata"]
    delete_url = f"/c/demo/ns/default/pods/{victim['name']}/delete/"
    assert viewer_client.post(delete_url, {"confirm": "yes"}).status_code == 403
    for unconfirmed in (editor_client.get(delete_url), editor_client.post(delete_url)):
        assert unconfirmed.status_code == 200 and "replaces it with a new Pod" in unconfirmed.content.decode()
    assert edit_cluster.get("pod", victim["name"])["metadata"]["uid"] == victim["uid"]
    assert not records(victim["name"], "delete-pod")

    response = editor_client.post(delete_url, {"confirm": "yes"})
    w = Workload.objects.get(cluster=cluster_row, name=deployment, kind="Deployment")
    assert response.status_code == 302 and response["Location"] == f"/c/demo/ns/default/deployment/{w.name}/"

    def replaced() -> bool:
        items = yaml.safe_load(edit_cluster.kubectl("get", "pods", "-l", f"app={deployment}", "-o", "json").stdout)[
            "items"
        ]
        alive = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        return victim["uid"] not in {p["metadata"]["uid"] for p in alive} and len(alive) == 2

    wait_for(replaced, timeout=20, what="the Pod to be replaced")
    record = records(victim["name"], "delete-pod")[-1]
    assert record.outcome == Outcome.APPLIED and record.kind == "Pod" and record.workload_uid == w.uid


def test_a_pod_whose_owner_is_not_its_controller_is_not_said_to_be_replaced(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    owner_cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pod-owner"}, "data": {"a": "b"}}
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(owner_cm))
    owner = edit_cluster.get("configmap", "pod-owner")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "owned-not-controlled",
            "namespace": "default",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
    }
    edit_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(pod))
    try:
        sync_once(cluster_row, ["Pod"])
        pod_url = "/c/demo/ns/default/pods/owned-not-controlled/"
        for page in (editor_client.get(pod_url), editor_client.get(pod_url + "delete/")):
            text = page.content.decode()
            assert "Its owner is not a controller: nothing will replace it." in text
            assert "replaces it with a new Pod" not in text
        response = editor_client.post(pod_url + "delete/", {"confirm": "yes"}, follow=True)
        assert "Nothing replaces it." in response.content.decode()
        assert records("owned-not-controlled", "delete-pod")[-1].message == "Deleted; nothing replaces it."
    finally:
        edit_cluster.kubectl("delete", "pod", "owned-not-controlled", "--wait=false", check=False)
        edit_cluster.kubectl("delete", "configmap", "pod-owner", "--wait=false", check=False)
