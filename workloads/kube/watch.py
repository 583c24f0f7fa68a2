"""Watching: one raw watch stream, parsed line by line with orjson."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from kubernetes import client as k8s_client

from workloads.kinds import Kind
from workloads.kube.client import CONNECT_TIMEOUT, READ_TIMEOUT, iter_lines, request, set_read_timeout
from workloads.kube.errors import Expired, KubeError, from_status
from workloads.kube.fetch import METADATA, metadata_of


def watch_objects(
    api: k8s_client.ApiClient,
    kind: Kind,
    *,
    resource_version: str,
    timeout_seconds: int = 300,
    namespace: str | None = None,
    answer_within: float = READ_TIMEOUT,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Open one watch and return its events: (type, object), BOOKMARKs included, until the server ends it.

    The request is sent now and returns once the server has answered (its headers, within ``answer_within``
    seconds, else Unreachable): a watch that has not answered is not followed. An ERROR event raises: Expired for
    410 (the caller lists again), otherwise the matching error.
    """
    query: list[tuple[str, Any]] = [
        ("watch", "true"),
        ("allowWatchBookmarks", "true"),
        ("resourceVersion", resource_version),
        ("timeoutSeconds", timeout_seconds),
    ]
    response = request(
        api,
        "GET",
        kind.collection_path(namespace),
        query=query,
        stream=True,
        timeout=(CONNECT_TIMEOUT, answer_within),
        accept=METADATA if kind.metadata_only else "application/json",
    )
    set_read_timeout(response, timeout_seconds + 30)
    return _events(response, kind)


def _events(response: Any, kind: Kind) -> Iterator[tuple[str, dict[str, Any]]]:
    for line in iter_lines(response):
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise KubeError(f"malformed watch event: {line[:200]!r}") from exc
        type_, obj = event.get("type"), event.get("object") or {}
        if type_ == "ERROR":
            code = int(obj.get("code") or 500)
            if code == 410:
                raise Expired(obj.get("message", "resource version expired"), code=410, status=obj)
            raise from_status(code, obj)
        if kind.metadata_only:
            obj = metadata_of(obj, kind)
        obj.setdefault("kind", kind.name)
        obj.setdefault("apiVersion", kind.api_version)
        yield type_, obj
