"""The rollout panel on the workload page and at its own URL, from the mirror of a real democluster."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.edit import EditCluster, settle
from workloads.models import Cluster, RolloutSample, Workload
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db


def test_it_shows_a_complete_rollout_and_actions_only_to_editors(
    viewer_client: Client, editor_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    sync_once(cluster_row)
    w = Workload.objects.get(cluster=cluster_row, kind="Deployment", name=deployment)
    page = viewer_client.get(f"/c/demo/ns/default/deployment/{deployment}/").content.decode()
    panel = page[page.index(f'id="rollout-{w.uid}"') :].split("</section>")[0]
    assert 'data-state="complete"' in panel
    assert "Complete: revision 1 runs on 2 of 2 Pods, all available." in panel
    assert "surge in use" in panel and "actions/scale" not in panel

    editor_page = editor_client.get(f"/c/demo/ns/default/deployment/{deployment}/").content.decode()
    assert "actions/scale/" in editor_page and "actions/pause/" in editor_page and "actions/undo/" in editor_page

    partial = viewer_client.get(f"/c/demo/ns/default/deployment/{deployment}/rollout/", HTTP_HX_REQUEST="true")
    html = partial.content.decode().strip()
    assert html.startswith(f'<section id="rollout-{w.uid}"') and "<html" not in html


def test_the_chart_is_drawn_from_stored_samples_with_escaped_labels(
    viewer_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    edit_cluster.kubectl("set", "image", f"deployment/{deployment}", "app=nginx:1.27")
    settle(edit_cluster, deployment)
    sync_once(cluster_row)
    w = Workload.objects.get(cluster=cluster_row, kind="Deployment", name=deployment)
    assert RolloutSample.objects.filter(workload_uid=w.uid).exists()
    RolloutSample.objects.filter(workload_uid=w.uid).update(revision="<script>x</script>")
    page = viewer_client.get(f"/c/demo/ns/default/deployment/{deployment}/").content.decode()
    assert '<figure class="rollout-chart">' in page and 'class="line new"' in page
    assert "<script>x" not in page


def test_a_job_shows_completion_progress(
    viewer_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    job = """
apiVersion: batch/v1
kind: Job
metadata: {name: count-panel, namespace: default}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36", command: ["sh", "-c", "sleep 1"]}]
"""
    edit_cluster.kubectl("apply", "-f", "-", input=job)
    try:
        edit_cluster.kubectl("wait", "--for=condition=complete", "job/count-panel", "--timeout=30s")
        sync_once(cluster_row)
        page = viewer_client.get("/c/demo/ns/default/job/count-panel/").content.decode()
        assert "Completion" in page and "Complete: 2 of 2 completions succeeded." in page
    finally:
        edit_cluster.kubectl("delete", "job", "count-panel", "--wait=false", check=False)
