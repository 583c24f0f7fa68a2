"""Apply manifest is all or nothing: a preview with a refused document offers no Apply, and an apply whose
documents the cluster would not all take applies none of them."""

from __future__ import annotations

from django.test import Client

from tests.support.edit import EditCluster
from workloads.edits import apply as edit_apply
from workloads.models import ChangeRecord, Cluster


def pod(name: str, container: str = "app") -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: default\n"
        f"spec:\n  containers:\n  - name: {container}\n    image: nginx:1.25\n"
    )


def exists(cluster: EditCluster, name: str) -> bool:
    return cluster.kubectl("get", "pod", name, check=False).returncode == 0


def test_a_preview_with_a_refused_document_offers_no_apply(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    # The second passes Podium's own checks (the schema has no name patterns); the API server refuses it.
    text = pod("aon-good-1") + "---\n" + pod("aon-bad-1", container="Not_A_DNS_Label")
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    html = response.content.decode()
    assert response.status_code == 422
    assert [bool(i.error) for i in response.context["items"]] == [False, True]
    assert "The cluster refuses document 2: nothing was applied." in html
    assert 'name="apply"' not in html and 'name="payload"' not in html


def test_an_apply_the_cluster_would_not_take_whole_applies_nothing(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    text = pod("aon-good-2") + "---\n" + pod("aon-bad-2", container="Not_A_DNS_Label")
    # As an older preview page offered it, or a page kept open while the cluster changed.
    response = editor_client.post("/c/demo/apply/", {"apply": "1", "payload": edit_apply.seal(text)})
    assert response.status_code == 422
    assert "nothing was applied" in response.content.decode()
    assert not exists(edit_cluster, "aon-good-2") and not exists(edit_cluster, "aon-bad-2")
    assert not ChangeRecord.objects.filter(outcome=ChangeRecord.Outcome.APPLIED).exists()


def test_a_clean_preview_applies_every_document(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    text = pod("aon-one") + "---\n" + pod("aon-two")
    preview = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert preview.status_code == 200 and 'name="apply"' in preview.content.decode()
    try:
        applied = editor_client.post("/c/demo/apply/", {"apply": "1", "payload": preview.context["payload"]})
        assert applied.status_code == 200
        assert [i.applied for i in applied.context["items"]] == [True, True]
        assert exists(edit_cluster, "aon-one") and exists(edit_cluster, "aon-two")
    finally:
        edit_cluster.kubectl("delete", "pod", "aon-one", "aon-two", "--wait=false", check=False)
