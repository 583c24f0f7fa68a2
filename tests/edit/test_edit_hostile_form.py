"""The edit form under hostile input: tampered hidden fields, numbers past int32, non-ASCII images, and characters
that render as nothing or reorder the text."""

from __future__ import annotations

from django.test import Client

from tests.support.edit import EditCluster, edit_url, form_data, snapshot
from workloads.models import ChangeRecord


def _form(client: Client, name: str) -> dict:
    response = client.get(edit_url(name))
    assert response.status_code == 200
    data = form_data(response.content.decode())
    data["preview"] = "1"
    return data


def _field(data: dict, suffix: str, value: str) -> str:
    """The key of the field ending in ``suffix`` whose value is ``value`` (e.g. the env row named PASSWORD)."""
    return next(k for k, v in data.items() if k.endswith(suffix) and v == value)


def _refused(client: Client, name: str, data: dict, edit_cluster: EditCluster) -> str:
    before = snapshot(edit_cluster, name)
    response = client.post(edit_url(name), data)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "diff" not in response.context  # the form again, not a preview
    assert snapshot(edit_cluster, name) == before
    assert ChangeRecord.objects.filter(name=name, outcome="previewed").count() == 0
    return response.content.decode()


def test_it_refuses_a_tampered_value_from(editor_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    for tampered in ("[1]", '{"secretKeyRef": "db"}', '{"secretKeyRef": {"name": {"x": 1}}}', "null", '"x"'):
        data = _form(editor_client, deployment)
        key = _field(data, "-name", "PASSWORD").removesuffix("name") + "value_from"
        data[key] = tampered
        assert "Not a valid reference." in _refused(editor_client, deployment, data, edit_cluster), tampered


def test_it_refuses_replicas_beyond_int32(editor_client: Client, deployment: str, edit_cluster: EditCluster) -> None:
    data = _form(editor_client, deployment)
    data["workload-replicas"] = str(2**31)
    assert "2147483647" in _refused(editor_client, deployment, data, edit_cluster)


def test_it_refuses_an_image_with_non_ascii_characters(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    for image in ("nginx:1.2٧", "nginx:ünicode", "nginx:1.25\u200b", "ngi\u202enx:1.25"):
        data = _form(editor_client, deployment)
        data[_field(data, "-image", "nginx:1.25")] = image
        assert "is not a valid image reference" in _refused(editor_client, deployment, data, edit_cluster), image


def test_it_flags_bidi_and_zero_width_characters_in_the_preview(
    editor_client: Client, deployment: str, edit_cluster: EditCluster
) -> None:
    data = _form(editor_client, deployment)
    key = _field(data, "-name", "MODE").removesuffix("name") + "value"
    data[key] = "prod\u200b"  # looks exactly like "prod"
    response = editor_client.post(edit_url(deployment), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["diff"].hidden_characters == ["U+200B"]
    assert 'id="hidden-characters"' in html
    assert '<mark class="hidden-char" title="U+200B">&lt;U+200B&gt;</mark>' in html
    assert "\u200b" not in html

    data[key] = "\u202eprod"
    html = editor_client.post(edit_url(deployment), data).content.decode()
    assert "U+202E" in html and "\u202e" not in html
