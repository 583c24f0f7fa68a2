"""A disabled cluster: its pages say so and stay readable from the mirror; every write is refused and recorded."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client

from tests.support import factories as f
from tests.support.edit import EditCluster
from workloads.models import ChangeRecord, Cluster
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db

DISABLED = "Cluster demo is disabled"


def test_it_says_so_on_every_page_of_the_cluster(viewer_client: Client) -> None:
    cluster = f.make_cluster("demo", enabled=False)
    f.make_namespace(cluster, "default")
    deploy, _old, new_rs, pods = f.rollout(cluster, "default")
    for url in (
        "/c/demo/workloads/",
        "/c/demo/ns/default/",
        f"/c/demo/ns/default/deployment/{deploy.name}/",
        f"/c/demo/ns/default/deployment/{deploy.name}/revisions/",
        f"/c/demo/ns/default/deployment/{deploy.name}/rollout/",
        f"/c/demo/ns/default/deployment/{deploy.name}/yaml/",
        f"/c/demo/ns/default/pods/{pods[0].name}/",
    ):
        response = viewer_client.get(url)
        assert response.status_code == 200, url
        assert DISABLED in response.content.decode(), url


def test_it_refuses_every_write(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    sync_once(cluster_row)
    pod = yaml.safe_load(edit_cluster.kubectl("get", "pods", "-l", f"app={deployment}", "-o", "json").stdout)["items"][
        0
    ]["metadata"]["name"]
    manifest_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{deployment}-extra", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
    }
    before = edit_cluster.get("deployment", deployment)["metadata"]["resourceVersion"]
    Cluster.objects.filter(pk=cluster_row.pk).update(enabled=False)

    base = f"/c/demo/ns/default/deployment/{deployment}"
    assert editor_client.get(f"{base}/edit/").status_code == 409
    assert editor_client.get(f"{base}/actions/restart/").status_code == 409
    writes = {
        f"{base}/actions/scale/": {"replicas": "4"},
        f"{base}/actions/pause/": {},
        f"/c/demo/ns/default/pods/{pod}/delete/": {},
        "/c/demo/apply/": {"text": yaml.safe_dump(manifest_pod), "preview": "1"},
    }
    for url, data in writes.items():
        response = editor_client.post(url, data)
        assert response.status_code == 409, url
        assert DISABLED in response.content.decode(), url

    assert edit_cluster.get("deployment", deployment)["metadata"]["resourceVersion"] == before
    assert edit_cluster.kubectl("get", "pod", pod, "-o", "name").stdout.strip() == f"pod/{pod}"
    assert edit_cluster.kubectl("get", "pod", f"{deployment}-extra", check=False).returncode != 0
    refused = ChangeRecord.objects.filter(outcome=ChangeRecord.Outcome.REFUSED)
    assert refused.count() == len(writes)
    assert all(DISABLED in r.message for r in refused)
