"""Apply manifest takes any namespaced kind the cluster's discovery serves, in an order that creates what later
documents need first; a kind it does not serve, and a cluster-scoped kind sent by someone who is not a Podium
admin, are refused per document and change nothing."""

from __future__ import annotations

import base64
import json
import os

from django.test import Client

from tests.support.edit import EditCluster
from tests.support.stack import wait_for
from workloads.models import ChangeRecord, Cluster


def config_map(name: str, namespace: str = "default") -> str:
    metadata = f"{{name: {name}, namespace: {namespace}}}"
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {metadata}\ndata: {{mode: fast}}\n"


def exists(cluster: EditCluster, kind: str, name: str, namespace: str = "default") -> bool:
    return cluster.kubectl("get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "name").stdout != ""


def errors(response: object) -> dict[str, str]:
    return {i.label: i.error for i in response.context["items"] if i.error}


def test_it_refuses_a_kind_the_cluster_does_not_serve(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    name = f"anykind-{os.getpid()}-1"
    text = (
        config_map(name)
        + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n"
        + "---\napiVersion: v1\nkind: Gadget\nmetadata: {name: g, namespace: default}\n"
    )
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})

    assert response.status_code == 422
    assert errors(response) == {
        "Widget w": "The cluster serves no kind Widget in example.com/v1 (as its discovery says).",
        "Gadget g": "The cluster serves no kind Gadget in v1 (as its discovery says).",
    }
    html = response.content.decode()
    assert "The cluster serves no kind Widget in example.com/v1" in html and 'name="apply"' not in html
    assert not exists(edit_cluster, "configmap", name)
    assert ChangeRecord.objects.get(name="manifest").outcome == ChangeRecord.Outcome.INVALID


def test_it_refuses_cluster_scoped_kinds_to_an_editor(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    namespace, role = f"anykind-{os.getpid()}-ns", f"anykind-{os.getpid()}-role"
    text = (
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n---\n"
        + config_map("settings", namespace)
        + f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {role}}}\nrules: []\n"
    )
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})

    assert response.status_code == 422
    assert errors(response) == {
        f"Namespace {namespace}": "Namespace is cluster-scoped: only Podium admins apply cluster-scoped objects.",
        f"ClusterRole {role}": "ClusterRole is cluster-scoped: only Podium admins apply cluster-scoped objects.",
    }
    assert "only Podium admins apply cluster-scoped objects" in response.content.decode()
    assert not exists(edit_cluster, "namespace", namespace)
    assert not exists(edit_cluster, "clusterrole", role)


def test_an_admin_applies_a_namespace_and_what_lives_in_it_in_one_go(
    admin_client_: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    namespace = f"anykind-{os.getpid()}-admin"
    # Written in the wrong order on purpose: Podium sends the Namespace first.
    text = (
        config_map("settings", namespace)
        + "---\napiVersion: v1\nkind: ServiceAccount\n"
        + f"metadata: {{name: runner, namespace: {namespace}}}\n"
        + f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n"
    )
    try:
        preview = admin_client_.post("/c/demo/apply/", {"text": text, "preview": "1"})
        assert preview.status_code == 200, errors(preview)
        items = preview.context["items"]
        assert [(i.kind, i.action, i.deferred) for i in items] == [
            ("Namespace", "create", False),
            ("ServiceAccount", "create", True),
            ("ConfigMap", "create", True),
        ]
        html = preview.content.decode()
        assert "in the namespace this manifest creates" in html
        assert "data.mode" in html
        assert not exists(edit_cluster, "namespace", namespace)

        applied = admin_client_.post("/c/demo/apply/", {"apply": "1", "payload": preview.context["payload"]})
        assert applied.status_code == 200, errors(applied)
        assert [i.applied for i in applied.context["items"]] == [True, True, True]
        assert edit_cluster.get("configmap", "settings", namespace)["data"] == {"mode": "fast"}
        assert exists(edit_cluster, "serviceaccount", "runner", namespace)
        outcomes = ChangeRecord.objects.filter(action="apply-manifest").values_list("kind", "outcome")
        assert sorted(outcomes) == sorted(
            (kind, ChangeRecord.Outcome.APPLIED) for kind in ("Namespace", "ServiceAccount", "ConfigMap")
        )
    finally:
        edit_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_it_updates_a_secret_without_reading_or_showing_its_values(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    name, old, new = f"anykind-{os.getpid()}-secret", "old-value-never-shown", "new-value-never-shown"
    metadata = f"{{name: {name}, namespace: default}}"
    # (kubectl apply, not kubectl create secret: democluster takes no protobuf body, see its README.)
    edit_cluster.kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Secret\nmetadata: {metadata}\n"
                         f"stringData: {{password: {old}}}\n")  # fmt: skip
    text = f"apiVersion: v1\nkind: Secret\nmetadata: {metadata}\nstringData: {{password: {new}}}\n"
    try:
        preview = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
        assert preview.status_code == 200, errors(preview)
        (item,) = preview.context["items"]
        assert item.action == "update"
        (change,) = [c for c in item.diff.changes if c.path == "data.password"]
        assert change.before == "••••••" and change.after.startswith("•••••• #")
        html = preview.content.decode()
        # The textarea shows the key with the marker; sent back as it is, it is refused, never stored as a value.
        assert "password: ••••••" in html
        shown = preview.context["text"]
        again = editor_client.post("/c/demo/apply/", {"text": shown, "preview": "1"})
        assert "holds Podium&#x27;s redaction marker instead of its values" in again.content.decode()

        applied = editor_client.post("/c/demo/apply/", {"apply": "1", "payload": preview.context["payload"]})
        assert applied.status_code == 200, errors(applied)
        stored = edit_cluster.get("secret", name)["data"]["password"]
        assert base64.b64decode(stored).decode() == new
        rows = json.dumps(list(ChangeRecord.objects.values()), default=str)
        for page in (html, applied.content.decode(), again.content.decode(), rows):
            for value in (old, new):
                assert value not in page and base64.b64encode(value.encode()).decode() not in page
    finally:
        edit_cluster.kubectl("delete", "secret", name, "--ignore-not-found")


def test_what_the_cluster_refuses_in_a_new_namespace_leaves_nothing_behind(
    admin_client_: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    namespace = f"anykind-{os.getpid()}-undo"
    # Podium's schema check passes it (it has no name patterns); the API server refuses the container's name.
    text = (
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n---\n"
        + config_map("settings", namespace)
        + f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: {namespace}}}\n"
        + "spec: {containers: [{name: Not_A_DNS_Label, image: 'nginx:1.27'}]}\n"
    )
    try:
        preview = admin_client_.post("/c/demo/apply/", {"text": text, "preview": "1"})
        assert preview.status_code == 200, errors(preview)

        applied = admin_client_.post("/c/demo/apply/", {"apply": "1", "payload": preview.context["payload"]})

        assert applied.status_code == 422
        assert list(errors(applied)) == [f"Pod {namespace}/p"]
        assert "spec.containers[0].name" in errors(applied)[f"Pod {namespace}/p"]
        assert (
            "The cluster refuses document 3 in the namespace this manifest creates: nothing was applied"
            in applied.content.decode()
        )
        assert [i.applied for i in applied.context["items"]] == [False, False, False]

        def gone() -> bool:
            found = edit_cluster.kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "json").stdout
            return not found or json.loads(found)["status"]["phase"] == "Terminating"

        wait_for(gone, timeout=30, what="the namespace Podium created to be deleted again")
        assert not exists(edit_cluster, "configmap", "settings", namespace)
        undo = ChangeRecord.objects.get(action="undo-manifest")
        assert (undo.kind, undo.name, undo.outcome) == ("Namespace", namespace, ChangeRecord.Outcome.APPLIED)
    finally:
        edit_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def test_a_secret_in_yaml_that_cannot_be_read_is_not_shown_again(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: Cluster
) -> None:
    value = "unreadable-yaml-value-never-shown"
    text = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  password: {value}: [\n"
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})

    html = response.content.decode()
    assert response.status_code == 422
    assert "This is not valid YAML" in html and "(line 5, column" in html
    assert "It seems to hold a Secret, so Podium does not show it again" in html
    assert response.context["text"] == ""
    assert value not in html
    assert value not in json.dumps(list(ChangeRecord.objects.values()), default=str)
