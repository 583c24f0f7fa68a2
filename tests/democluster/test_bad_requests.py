"""Bad input gets the real API's Status answer and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.democluster.helpers import Democluster, pod_manifest, unique


@pytest.fixture
def namespace(democluster: Democluster) -> Iterator[str]:
    name = unique("bad")
    assert democluster.request("POST", "/api/v1/namespaces", body={"metadata": {"name": name}}).status_code == 201
    yield name


def _pods(democluster: Democluster, namespace: str) -> list[dict]:
    return democluster.request("GET", f"/api/v1/namespaces/{namespace}/pods").json()["items"]


def _assert_status(response, code: int, reason: str) -> dict:  # noqa: ANN001 - a requests.Response
    assert response.status_code == code, response.text
    status = response.json()
    assert status["kind"] == "Status"
    assert status["code"] == code
    assert status["reason"] == reason
    return status


def test_malformed_json_is_400(democluster: Democluster, namespace: str) -> None:
    response = democluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        data=b'{"metadata": {"name": "x"',
        headers={"Content-Type": "application/json"},
    )
    _assert_status(response, 400, "BadRequest")
    assert _pods(democluster, namespace) == []


def test_an_unknown_resource_is_404(democluster: Democluster, namespace: str) -> None:
    _assert_status(democluster.request("GET", f"/api/v1/namespaces/{namespace}/widgets"), 404, "NotFound")
    _assert_status(democluster.request("GET", "/apis/nope.example.com/v1/things"), 404, "NotFound")
    missing = _assert_status(
        democluster.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/x"), 404, "NotFound"
    )
    assert missing["message"] == 'deployments.apps "x" not found'
    assert missing["details"] == {"name": "x", "group": "apps", "kind": "deployments"}


def test_a_wrong_or_missing_token_is_401(democluster: Democluster, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods"
    _assert_status(democluster.request("GET", path, token="wrong"), 401, "Unauthorized")
    _assert_status(democluster.request("GET", path, token=""), 401, "Unauthorized")
    _assert_status(democluster.request("POST", path, body=pod_manifest("sneaky"), token="wrong"), 401, "Unauthorized")
    assert _pods(democluster, namespace) == []


def test_a_too_large_body_is_413(democluster: Democluster, namespace: str) -> None:
    manifest = pod_manifest("huge")
    manifest["metadata"]["annotations"] = {"filler": "x" * (4 * 1024 * 1024)}
    response = democluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/pods",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": "application/json"},
    )
    _assert_status(response, 413, "RequestEntityTooLarge")
    assert _pods(democluster, namespace) == []


def test_an_unknown_field_is_refused_in_strict_mode(democluster: Democluster, namespace: str) -> None:
    manifest = pod_manifest("strict")
    manifest["spec"]["containers"][0]["imagee"] = "typo"
    path = f"/api/v1/namespaces/{namespace}/pods"
    status = _assert_status(
        democluster.request("POST", path + "?fieldValidation=Strict", body=manifest), 400, "BadRequest"
    )
    assert 'unknown field "spec.containers[0].imagee"' in status["message"]
    assert _pods(democluster, namespace) == []

    warned = democluster.request("POST", path, body=manifest)
    assert warned.status_code == 201
    assert "imagee" in warned.headers["Warning"]
    assert "imagee" not in warned.json()["spec"]["containers"][0]


def test_an_unsupported_patch_type_is_415(democluster: Democluster, namespace: str) -> None:
    democluster.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod_manifest("p"))
    response = democluster.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/p",
        data=b"{}",
        headers={"Content-Type": "text/plain"},
    )
    _assert_status(response, 415, "UnsupportedMediaType")


def test_a_duplicate_is_409_already_exists(democluster: Democluster, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods"
    assert democluster.request("POST", path, body=pod_manifest("twice")).status_code == 201
    status = _assert_status(democluster.request("POST", path, body=pod_manifest("twice")), 409, "AlreadyExists")
    assert status["message"] == 'pods "twice" already exists'


def test_a_bad_selector_is_400(democluster: Democluster, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods?fieldSelector=spec.bogus%3Dx"
    _assert_status(democluster.request("GET", path), 400, "BadRequest")
