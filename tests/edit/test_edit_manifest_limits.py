"""Apply manifest writes only where an editor may, and only as many objects as a request can carry."""

from __future__ import annotations

from django.test import Client

from tests.support.edit import EditCluster
from workloads.models import ChangeRecord, Cluster


def pod(name: str, namespace: str = "default") -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        "spec:\n  containers:\n  - name: app\n    image: nginx:1.25\n"
    )


def test_it_refuses_a_namespace_podium_does_not_show(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    text = pod("visible-pod") + "---\n" + pod("hidden-pod", namespace="kube-hidden")
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert response.status_code == 422
    assert "Podium shows no namespace kube-hidden in this cluster" in response.content.decode()
    assert [bool(i.error) for i in response.context["items"]] == [False, True]
    assert edit_cluster.kubectl("get", "namespace", "kube-hidden", check=False).returncode != 0
    assert ChangeRecord.objects.get().outcome == "invalid"


def test_it_refuses_more_documents_than_the_limit(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    text = "---\n".join(pod(f"many-{i}") for i in range(101))
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert response.status_code == 422
    assert "A manifest holds at most 100 objects; this one has 101." in response.content.decode()
    assert ChangeRecord.objects.get().outcome == "invalid"
    assert "many-0" not in edit_cluster.kubectl("get", "pods", "-o", "name").stdout


def test_it_applies_up_to_the_limit(editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster):
    text = "---\n".join(pod(f"limit-{i}") for i in range(100))
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert [i.action for i in response.context["items"]] == ["create"] * 100
