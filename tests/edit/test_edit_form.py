"""The edit form: preview names exactly the changed fields, apply changes the cluster, bad input changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.edit import EditCluster, edit_url, form_data, snapshot
from workloads.models import ChangeRecord


def _form(client: Client, name: str) -> dict:
    response = client.get(edit_url(name))
    assert response.status_code == 200
    return form_data(response.content.decode())


def _container_field(data: dict, container: str, field: str) -> str:
    index = next(k.split("-")[1] for k, v in data.items() if k.endswith("-original_name") and v == container)
    return f"containers-{index}-{field}"


def _env_field(data: dict, var: str, field: str) -> str:
    key = next(
        k for k, v in data.items() if k.startswith("containers-") and "-env-" in k and k.endswith("-name") and v == var
    )
    return key.removesuffix("name") + field


def test_it_previews_exactly_the_changed_fields_and_applies_them(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    before_rv, before_spec = snapshot(edit_cluster, deployment)
    data = _form(editor_client, deployment)
    data[_container_field(data, "app", "image")] = "nginx:1.27"
    data[_env_field(data, "MODE", "value")] = "staging"
    data["preview"] = "1"

    response = editor_client.post(edit_url(deployment), data)

    assert response.status_code == 200, response.content.decode()[:3000]
    diff = response.context["diff"]
    assert sorted(diff.paths) == [
        "spec.template.spec.containers[app].env[MODE].value",
        "spec.template.spec.containers[app].image",
    ]
    assert diff.starts_rollout
    assert snapshot(edit_cluster, deployment) == (before_rv, before_spec)  # a preview changes nothing

    applied = editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": response.context["payload"]})

    assert applied.status_code == 302
    after = edit_cluster.get("deployment", deployment)
    container = after["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["env"] == [
        {"name": "MODE", "value": "staging"},
        {"name": "LEVEL", "value": "info"},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}}},
    ]
    expected = before_spec
    expected["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    expected["template"]["spec"]["containers"][0]["env"][0]["value"] = "staging"
    assert after["spec"] == expected
    record = ChangeRecord.objects.get(outcome="applied")
    assert record.name == deployment and record.user.username == "eddie-editor"
    assert "nginx:1.27" in record.diff


def test_it_shows_a_secret_reference_but_never_a_value(editor_client: Client, deployment: str) -> None:
    html = editor_client.get(edit_url(deployment)).content.decode()
    assert "Secret db-credentials / password" in html


def test_it_changes_replicas_without_a_rollout(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    data = _form(editor_client, deployment)
    data["workload-replicas"] = "3"
    response = editor_client.post(edit_url(deployment), data)
    assert response.context["diff"].paths == ["spec.replicas"]
    assert not response.context["diff"].starts_rollout
    assert "no rollout" in response.content.decode()


def _bad(field_of, value: str):
    return (field_of, value)


BAD_INPUT = [
    ("replicas -1", lambda d: "workload-replicas", "-1", "greater than or equal to 0"),
    ("replicas abc", lambda d: "workload-replicas", "abc", "whole number"),
    ("image with spaces", lambda d: _container_field(d, "app", "image"), "UPPER CASE:tag", "not a valid image"),
    ("env name", lambda d: _env_field(d, "LEVEL", "name"), "1 BAD", "not a valid variable name"),
    ("cpu", lambda d: _container_field(d, "app", "cpu_request"), "abc", "not a quantity"),
    ("memory", lambda d: _container_field(d, "app", "memory_limit"), "10XB", "not a quantity"),
    ("requests > limits", lambda d: _container_field(d, "app", "cpu_request"), "2", "more than the limit"),
    ("port 0", lambda d: "containers-0-ports-0-container_port", "0", "between 1 and 65535"),
    ("port 70000", lambda d: "containers-0-ports-0-container_port", "70000", "between 1 and 65535"),
    ("1 MB env value", lambda d: _env_field(d, "MODE", "value"), "x" * 1_000_000, "at most 32768"),
]


@pytest.mark.parametrize(("case", "field_of", "value", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_it_refuses_bad_input_on_its_field_and_leaves_the_cluster_alone(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, case: str, field_of, value: str, message: str
) -> None:
    before = snapshot(edit_cluster, deployment)
    data = _form(editor_client, deployment)
    field = field_of(data)
    data[field] = value

    response = editor_client.post(edit_url(deployment), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_{field}-error"' in html
    error_at = html.index(f'id="id_{field}-error"')
    assert message in html[error_at : error_at + 400]
    assert snapshot(edit_cluster, deployment) == before
    record = ChangeRecord.objects.get()
    assert record.outcome == "invalid" and field in record.message


def test_it_adds_an_env_row_without_javascript(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    data = _form(editor_client, deployment)
    data["add"] = "containers-0-env"
    response = editor_client.post(edit_url(deployment), data)
    html = response.content.decode()
    assert 'name="containers-0-env-3-name"' in html
    assert "This field is required" not in html

    data = form_data(html)
    data["containers-0-env-3-name"] = "NEW_VAR"
    data["containers-0-env-3-value"] = "42"
    preview = editor_client.post(edit_url(deployment), data)
    assert preview.context["diff"].paths == ["spec.template.spec.containers[app].env[NEW_VAR].value"]


def test_it_removes_a_row_and_a_container(editor_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    data = _form(editor_client, deployment)
    data["remove"] = "containers-1"
    html = editor_client.post(edit_url(deployment), data).content.decode()
    data = form_data(html)
    data["remove"] = _env_field(data, "LEVEL", "").removesuffix("-")
    data = form_data(editor_client.post(edit_url(deployment), data).content.decode())
    preview = editor_client.post(edit_url(deployment), data)
    assert preview.context["diff"].paths == [
        "spec.template.spec.containers[app].env[LEVEL]",
        "spec.template.spec.containers[sidecar]",
    ]
    editor_client.post(edit_url(deployment, "edit/apply/"), {"payload": preview.context["payload"]})
    spec = edit_cluster.get("deployment", deployment)["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["app"]
    assert [e["name"] for e in spec["containers"][0]["env"]] == ["MODE", "PASSWORD"]


def test_it_maps_the_api_servers_422_onto_the_field(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    before = snapshot(edit_cluster, deployment)
    data = _form(editor_client, deployment)
    # Podium does not check that template labels still match the selector; the API server does.
    data["pod-labels"] = "app=other"
    response = editor_client.post(edit_url(deployment), data)
    html = response.content.decode()
    assert 'id="id_pod-labels-error"' in html, html[:4000]
    assert snapshot(edit_cluster, deployment) == before
    assert ChangeRecord.objects.get().outcome == "invalid"
