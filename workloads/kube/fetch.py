"""Reading: paged lists and single objects, as plain dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubernetes import client as k8s_client

from workloads.kube.client import request_json
from workloads.kube.kinds import Kind

PAGE_SIZE = 500


def list_pages(
    api: k8s_client.ApiClient, kind: Kind, *, namespace: str | None = None, page_size: int = PAGE_SIZE
) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """Yield (items, list resourceVersion) page by page; items get kind/apiVersion filled in."""
    token = ""
    while True:
        query: list[tuple[str, Any]] = [("limit", page_size)]
        if token:
            query.append(("continue", token))
        body = request_json(api, "GET", kind.collection_path(namespace), query=query)
        items = body.get("items") or []
        for item in items:
            item.setdefault("kind", kind.name)
            item.setdefault("apiVersion", kind.api_version)
        metadata = body.get("metadata") or {}
        yield items, metadata.get("resourceVersion", "")
        token = metadata.get("continue") or ""
        if not token:
            return


def list_objects(
    api: k8s_client.ApiClient, kind: Kind, *, namespace: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    resource_version = ""
    for page, page_version in list_pages(api, kind, namespace=namespace):
        items.extend(page)
        resource_version = page_version
    return items, resource_version


def get_object(
    api: k8s_client.ApiClient, kind: Kind, namespace: str | None, name: str, *, subresource: str = ""
) -> dict[str, Any]:
    return request_json(api, "GET", kind.item_path(namespace, name, subresource))
