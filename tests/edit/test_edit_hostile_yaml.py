"""YAML a person sends (Apply manifest, the YAML tab) is parsed with its aliases and nesting bounded."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support import factories as f
from tests.support.edit import EditCluster, edit_url, form_data, snapshot
from workloads.edits import useryaml
from workloads.models import ChangeRecord

# Small enough that the code before the bound could still answer (a million nodes, a few MB of page),
# far past the bound: the eight-level version of it took the web process past 4 GB.
LEVELS = 6


def alias_bomb(levels: int = LEVELS) -> str:
    lines = ["a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "apiVersion: v1\n" + "\n".join(lines) + f"\nkind: *a{levels}\nmetadata: {{name: bomb}}\n"


def deep(levels: int = 500) -> str:
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: deep}\nspec: " + "[" * levels + "]" * levels + "\n"


HOSTILE = [
    pytest.param(alias_bomb(), "aliases expand to more than", id="alias-bomb"),
    pytest.param(deep(), "nests deeper than", id="500-deep"),
    pytest.param(
        "apiVersion: v1\nkind: Pod\nmetadata: &m {name: loop, labels: *m}\n", "inside its own anchor", id="loop"
    ),
    pytest.param("apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: " + "9" * 5000 + "}\n", "digits", id="int"),
]


@pytest.fixture
def cluster(db: None) -> object:
    return f.make_cluster("demo")


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_it_refuses_hostile_yaml_in_apply_manifest(editor_client: Client, cluster: object, text: str, reason: str):
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "This YAML is refused" in html and reason in html
    assert len(html) < 100_000
    assert ChangeRecord.objects.get().outcome == "invalid"


@pytest.mark.parametrize(("text", "reason"), HOSTILE)
def test_it_refuses_hostile_yaml_in_the_yaml_tab(
    editor_client: Client, deployment: str, edit_cluster: EditCluster, text: str, reason: str
) -> None:
    before = snapshot(edit_cluster, deployment)
    data = form_data(editor_client.get(edit_url(deployment, "yaml/edit/")).content.decode())
    data["text"] = text
    response = editor_client.post(edit_url(deployment, "yaml/edit/"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "This YAML is refused" in html and reason in html
    assert len(html) < 100_000
    assert snapshot(edit_cluster, deployment) == before


def test_it_still_reads_the_aliases_a_person_writes(
    editor_client: Client, edit_cluster: EditCluster, cluster_row: object
) -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: anchored, labels: &labels {app: anchored}}\n"
        "spec:\n  selector: {matchLabels: *labels}\n  template:\n    metadata: {labels: *labels}\n"
        "    spec: {containers: [{name: app, image: 'nginx:1.25'}]}\n"
    )
    response = editor_client.post("/c/demo/apply/", {"text": text, "preview": "1"})
    assert response.status_code == 200, response.content.decode()[:3000]
    assert [i.action for i in response.context["items"]] == ["create"]


def test_it_reads_values_as_kubernetes_does() -> None:
    assert useryaml.load_all("date: 2024-01-31\nbad: 2001-13-45\n---\n---\nn: 1\n") == [
        {"date": "2024-01-31", "bad": "2001-13-45"},
        {"n": 1},
    ]
    for text in ("a: !!binary aGVsbG8=", "a: !!set {x}", "a: !!omap [{x: 1}]"):
        with pytest.raises(useryaml.yaml.YAMLError, match="Kubernetes YAML has no"):
            useryaml.load_all(text)


def test_it_bounds_the_depth_aliases_reach() -> None:
    # Each anchor nests 40 deep, within the bound; through each other they nest 120 deep.
    text = "a: &a " + "[" * 40 + "]" * 40 + "\nb: &b " + "[" * 40 + "*a" + "]" * 40
    text += "\nc: " + "[" * 40 + "*b" + "]" * 40 + "\n"
    with pytest.raises(useryaml.Refused, match="aliases nest deeper than 64"):
        useryaml.load_all(text)
