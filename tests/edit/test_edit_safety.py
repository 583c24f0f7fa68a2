"""Conflicts, permissions, CSRF, the YAML tab, manifests and the audit trail."""

from __future__ import annotations

import yaml
from django.test import Client

from tests.support.edit import EditCluster, deployment_manifest, edit_url, form_data, snapshot
from workloads.models import ChangeRecord


def _preview(client: Client, name: str, **changes: str) -> object:
    data = form_data(client.get(edit_url(name)).content.decode())
    data.update(changes)
    response = client.post(edit_url(name), data)
    assert response.status_code == 200
    return response


def test_it_shows_the_conflict_page_instead_of_overwriting(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    mine = _preview(editor_client, deployment, **{"containers-0-image": "nginx:1.27"})
    theirs = _preview(editor_client, deployment, **{"workload-replicas": "4"})
    editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": theirs.context["payload"]})
    after_theirs = snapshot(edit_cluster, deployment)

    response = editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": mine.context["payload"]})

    assert response.status_code == 409
    assert response.context["meanwhile"].paths == ["spec.replicas"]
    assert "Re-apply my changes on top" in response.content.decode()
    assert snapshot(edit_cluster, deployment)[1] == after_theirs[1]
    assert edit_cluster.get("deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "nginx:1.25"
    )

    rebased = editor_client.post(
        edit_url(deployment, "edit/apply/"), {"payload": response.context["payload"], "rebase": "1"}
    )
    assert rebased.status_code == 200
    assert rebased.context["diff"].paths == ["spec.template.spec.containers[app].image"]
    editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": rebased.context["payload"]})
    spec = edit_cluster.get("deployment", deployment)["spec"]
    assert spec["replicas"] == 4 and spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert list(ChangeRecord.objects.order_by("created_at").values_list("outcome", flat=True)) == [
        "previewed",
        "previewed",
        "applied",
        "conflict",
        "previewed",
        "applied",
    ]


def test_it_refuses_a_viewers_post(viewer_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    before = snapshot(edit_cluster, deployment)
    response = viewer_client.post(edit_url(deployment), {"workload-replicas": "5"})
    assert response.status_code == 403
    assert viewer_client.get(edit_url(deployment)).status_code == 403
    assert snapshot(edit_cluster, deployment) == before
    assert ChangeRecord.objects.get().outcome == "refused"


def test_it_refuses_a_post_without_csrf(editor, deployment: str, edit_cluster: EditCluster) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    before = snapshot(edit_cluster, deployment)
    data = form_data(client.get(edit_url(deployment)).content.decode())
    data.pop("csrfmiddlewaretoken")
    data["workload-replicas"] = "5"
    assert client.post(edit_url(deployment), data).status_code == 403
    assert snapshot(edit_cluster, deployment) == before
    # The audit trail shows the refused request, as nobody's attempt (it may be a cross-site forgery).
    [refused] = ChangeRecord.objects.filter(action="refused-request", name=edit_url(deployment))
    assert refused.user is None and refused.outcome == "refused" and "CSRF check failed" in refused.message
    assert not ChangeRecord.objects.filter(user=editor).exists()


def _yaml_post(client: Client, name: str, edit) -> object:
    data = form_data(client.get(edit_url(name, "yaml/edit/")).content.decode())
    data["text"] = edit(data["text"])
    return client.post(edit_url(name, "yaml/edit/"), data)


def test_the_yaml_tab_previews_and_applies(editor_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    response = _yaml_post(editor_client, deployment, lambda t: t.replace("replicas: 2", "replicas: 3"))
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response.context["diff"].paths == ["spec.replicas"]
    editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": response.context["payload"]})
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 3


def test_the_yaml_tab_refuses_bad_yaml(editor_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    before = snapshot(edit_cluster, deployment)
    cases = [
        (lambda t: t + "\n  bad: [unclosed", "not valid YAML"),
        (lambda t: t.replace("kind: Deployment", "kind: StatefulSet", 1), "the YAML is apps/v1 StatefulSet"),
        (lambda t: t.replace(f"name: {deployment}", "name: someone-else", 1), "the YAML names default/someone-else"),
        (lambda t: t.replace("replicas: 2", "replicas: 2\n  bogusField: 1"), "bogusField"),
    ]
    for edit, message in cases:
        response = _yaml_post(editor_client, deployment, edit)
        assert response.status_code == 422
        assert message in response.content.decode(), message
    assert snapshot(edit_cluster, deployment) == before
    assert list(ChangeRecord.objects.values_list("outcome", flat=True)) == ["invalid"] * 4


MANIFEST = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: nginx
    image: nginx:1.14.2
    ports:
    - containerPort: 80
"""


def test_apply_manifest_creates_then_updates(editor_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    manifest = deployment_manifest(deployment)
    manifest["spec"]["replicas"] = 3
    text = MANIFEST.format(name=f"{deployment}-pod") + "---\n" + yaml.safe_dump(manifest)
    preview = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert preview.status_code == 200, preview.content.decode()[:3000]
    items = preview.context["items"]
    assert [i.action for i in items] == ["create", "update"]
    assert items[1].diff.paths == ["spec.replicas"]
    assert edit_cluster.kubectl("get", "pod", f"{deployment}-pod", check=False).returncode != 0

    applied = editor_client.post("/c/demo/apply/", {"payload": preview.context["payload"], "apply": "1"})
    assert applied.status_code == 200
    assert edit_cluster.get("pod", f"{deployment}-pod")["spec"]["containers"][0]["image"] == "nginx:1.14.2"
    assert edit_cluster.get("deployment", deployment)["spec"]["replicas"] == 3


def test_apply_manifest_refuses_an_unknown_field(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    before = snapshot(edit_cluster, deployment)
    text = (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {deployment}\nspec:\n  replicas: 3\n  replicaz: 1\n"
    )
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert response.status_code == 422
    assert "replicaz" in response.content.decode()
    assert snapshot(edit_cluster, deployment) == before
    assert ChangeRecord.objects.get().outcome == "invalid"


def test_the_audit_page_lists_every_attempt(
    editor_client: Client, viewer_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    _preview(editor_client, deployment, **{"workload-replicas": "-1"})
    ok = _preview(editor_client, deployment, **{"workload-replicas": "3"})
    editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": ok.context["payload"]})
    viewer_client.post(edit_url(deployment), {})

    page = viewer_client.get("/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    for outcome in ("invalid", "previewed", "applied", "refused"):
        assert f"badge-{outcome}" in html
    assert f"/c/demo/ns/default/deployment/{deployment}/" in html
    only = viewer_client.get("/audit/", {"outcome": "refused", "user": "vera-viewer"})
    assert [r.outcome for r in only.context["page"]] == ["refused"]
    assert viewer_client.get("/audit/", {"q": "no-such-thing"}).context["page"].paginator.count == 0
