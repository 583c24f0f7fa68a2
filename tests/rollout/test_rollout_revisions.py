"""Revision history: every revision with when, who and images, and the diff between any two revisions."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.edit import EditCluster, settle
from workloads.models import Cluster
from workloads.sync.watcher import sync_once

pytestmark = pytest.mark.django_db


def revisions_url(name: str, query: str = "") -> str:
    return f"/c/demo/ns/default/deployment/{name}/revisions/{query}"


def test_the_diff_names_exactly_the_fields_that_differ(
    viewer_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    # Revision 2 changes image, one env value and one resource limit; revision 3 only the image.
    patch = {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "tune app: image, MODE, cpu limit"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.27",
                            "env": [{"name": "MODE", "value": "staging"}],
                            "resources": {"limits": {"cpu": "750m"}},
                        }
                    ]
                }
            }
        },
    }
    edit_cluster.kubectl("patch", "deployment", deployment, "--type=strategic", "-p", json.dumps(patch))
    settle(edit_cluster, deployment)
    edit_cluster.kubectl("set", "image", f"deployment/{deployment}", "app=nginx:1.28")
    settle(edit_cluster, deployment)
    sync_once(cluster_row)

    response = viewer_client.get(revisions_url(deployment, "?a=1&b=2"))
    assert response.status_code == 200
    compared = response.context["compared"]
    # Exactly these, in the order the API server keeps the container's fields.
    assert sorted(compared.fields) == ["env of container app", "image of container app", "resources of container app"]
    assert sorted(compared.diff.paths) == [
        "spec.template.spec.containers[app].env[MODE].value",
        "spec.template.spec.containers[app].image",
        "spec.template.spec.containers[app].resources.limits.cpu",
    ]
    values = {c.path.rsplit(".", 1)[-1]: (c.before, c.after) for c in compared.diff.changes}
    assert values == {"image": ("nginx:1.25", "nginx:1.27"), "value": ("prod", "staging"), "cpu": ("500m", "750m")}

    two_three = viewer_client.get(revisions_url(deployment, "?a=2&b=3")).context["compared"]
    assert two_three.fields == ["image of container app"]
    assert two_three.diff.paths == ["spec.template.spec.containers[app].image"]
    one_three = viewer_client.get(revisions_url(deployment, "?a=3&b=1")).context["compared"]
    assert sorted(one_three.fields) == sorted(compared.fields)

    html = response.content.decode()
    assert '<strong class="field-name">image of container app</strong>' in html


def test_the_history_lists_every_revision_with_who_and_images(
    viewer_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    # As `kubectl --record` did: the cause goes on the Deployment, and the controller copies it to the new ReplicaSet.
    edit_cluster.kubectl("set", "image", f"deployment/{deployment}", "app=nginx:1.27")
    edit_cluster.kubectl("annotate", "deployment", deployment, "kubernetes.io/change-cause=kubectl set image 1.27")
    settle(edit_cluster, deployment)
    sync_once(cluster_row)

    response = viewer_client.get(revisions_url(deployment))
    entries = response.context["entries"]
    assert [(e.revision, e.current, e.images) for e in entries] == [
        (2, True, ["nginx:1.27", "busybox:1.36"]),
        (1, False, ["nginx:1.25", "busybox:1.36"]),
    ]
    assert entries[0].change_cause == "kubectl set image 1.27" and entries[0].record is None
    assert entries[0].when is not None
    html = response.content.decode()
    assert "kubectl set image 1.27" in html
    assert "outside Podium; no change-cause" in html  # revision 1
    assert "Undo to 1" not in html  # a viewer sees no actions
    assert response.context["compared"].fields == ["image of container app"]


def test_it_hides_secret_looking_env_values_in_the_diff(
    viewer_client: Client, deployment: str, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    edit_cluster.kubectl("set", "env", f"deployment/{deployment}", "-c", "app", "API_TOKEN=s3cr3t-value")
    settle(edit_cluster, deployment)
    sync_once(cluster_row)
    response = viewer_client.get(revisions_url(deployment, "?a=1&b=2"))
    [change] = response.context["compared"].diff.changes
    assert change.path == "spec.template.spec.containers[app].env[API_TOKEN].value"
    assert (change.before, change.after) == (None, "••••••")
    assert "s3cr3t-value" not in response.content.decode()
