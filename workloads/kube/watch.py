"""Watching: one raw watch stream, parsed line by line with orjson."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from kubernetes import client as k8s_client

from workloads.kube.client import CONNECT_TIMEOUT, iter_lines, request
from workloads.kube.errors import Expired, KubeError, from_status
from workloads.kube.kinds import Kind


def watch_objects(
    api: k8s_client.ApiClient,
    kind: Kind,
    *,
    resource_version: str,
    timeout_seconds: int = 300,
    namespace: str | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (type, object) from one watch, BOOKMARKs included, until the server ends it.

    An ERROR event raises: Expired for 410 (the caller lists again), otherwise the matching error.
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
        timeout=(CONNECT_TIMEOUT, timeout_seconds + 30),
    )
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
        obj.setdefault("kind", kind.name)
        obj.setdefault("apiVersion", kind.api_version)
        yield type_, obj
