"""Reading: paged lists and single objects, as plain dicts."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

from kubernetes import client as k8s_client

from workloads.kinds import Kind
from workloads.kube.client import request_json

PAGE_SIZE = 500
# The metadata-only media types, with no fallback to the full object: a server that cannot answer them must refuse
# (406), never send a Secret's data instead (client-go's metadata client adds ``application/json`` as a fallback).
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
T = TypeVar("T")
_DONE = object()


def list_pages(
    api: k8s_client.ApiClient,
    kind: Kind,
    *,
    namespace: str | None = None,
    page_size: int = PAGE_SIZE,
    read_ahead: bool = False,
) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """Yield (items, list resourceVersion) page by page; items get kind/apiVersion filled in. With
    ``read_ahead`` the next page is fetched while the caller works on this one."""
    pages = _pages(api, kind, namespace, page_size)
    return _read_ahead(pages) if read_ahead else pages


def _pages(
    api: k8s_client.ApiClient, kind: Kind, namespace: str | None, page_size: int
) -> Iterator[tuple[list[dict[str, Any]], str]]:
    token = ""
    while True:
        query: list[tuple[str, Any]] = [("limit", page_size)]
        if token:
            query.append(("continue", token))
        accept = METADATA_LIST if kind.metadata_only else "application/json"
        body = request_json(api, "GET", kind.collection_path(namespace), query=query, accept=accept)
        items = body.get("items") or []
        if kind.metadata_only:
            items = [metadata_of(item, kind) for item in items]
        for item in items:
            item.setdefault("kind", kind.name)
            item.setdefault("apiVersion", kind.api_version)
        metadata = body.get("metadata") or {}
        yield items, metadata.get("resourceVersion", "")
        token = metadata.get("continue") or ""
        if not token:
            return


def metadata_of(item: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """A PartialObjectMetadata as the object of its kind holding metadata alone (whatever else a server sent, and
    the annotation ``kubectl apply`` copies the whole object into, values included, are dropped)."""
    metadata = dict(item.get("metadata") or {})
    annotations = metadata.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {"kind": kind.name, "apiVersion": kind.api_version, "metadata": metadata}


def _read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The same items, the next one fetched in a thread while the caller works on this one (the API
    server prepares the next page while the mirror writes the last). An error is raised where the
    caller would have met it; a caller that stops early stops the fetching too."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stopped = threading.Event()

    def hand_over(item: object) -> bool:
        while not stopped.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for item in items:
                if not hand_over((item, None)):
                    return
            hand_over((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            hand_over((_DONE, exc))

    threading.Thread(target=fetch, daemon=True, name="read-ahead").start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stopped.set()


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
    """The object; for a metadata-only kind (a Secret) its metadata alone, so that its values are never read."""
    if kind.metadata_only and not subresource:
        return metadata_of(request_json(api, "GET", kind.item_path(namespace, name), accept=METADATA), kind)
    return request_json(api, "GET", kind.item_path(namespace, name, subresource))
