"""Writing: patch (with dry run and the resourceVersion precondition), create, delete."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s_client

from workloads.kinds import Kind
from workloads.kube.client import request_json

FIELD_MANAGER = "podium"

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def _write_query(dry_run: bool, field_validation: str = "Strict") -> list[tuple[str, Any]]:
    query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER), ("fieldValidation", field_validation)]
    if dry_run:
        query.append(("dryRun", "All"))
    return query


def patch_object(
    api: k8s_client.ApiClient,
    kind: Kind,
    namespace: str | None,
    name: str,
    body: Any,
    *,
    content_type: str = STRATEGIC,
    dry_run: bool = False,
    subresource: str = "",
) -> dict[str, Any]:
    """Patch; put ``metadata.resourceVersion`` in a merge/strategic body to make it a precondition."""
    return request_json(
        api,
        "PATCH",
        kind.item_path(namespace, name, subresource),
        query=_write_query(dry_run),
        body=body,
        content_type=content_type,
    )


def create_object(
    api: k8s_client.ApiClient, kind: Kind, namespace: str | None, body: dict[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    return request_json(api, "POST", kind.collection_path(namespace), query=_write_query(dry_run), body=body)


def delete_object(
    api: k8s_client.ApiClient,
    kind: Kind,
    namespace: str | None,
    name: str,
    *,
    propagation: str = "Background",
    dry_run: bool = False,
) -> dict[str, Any]:
    query: list[tuple[str, Any]] = [("propagationPolicy", propagation)]
    if dry_run:
        query.append(("dryRun", "All"))
    return request_json(api, "DELETE", kind.item_path(namespace, name), query=query)
