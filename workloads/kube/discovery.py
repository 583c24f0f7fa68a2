"""Discovery: which kinds a cluster serves in a group/version (``/api/v1``, ``/apis/<group>/<version>``)."""

from __future__ import annotations

from kubernetes import client as k8s_client

from workloads.kinds import Kind
from workloads.kube.client import request_json
from workloads.kube.errors import NotFound


def served_kinds(api: k8s_client.ApiClient, *, api_version: str) -> dict[str, Kind]:
    """The kinds served in ``api_version`` ("v1", "apps/v1"), by kind name; empty when the cluster serves no such
    group/version. Subresources (``deployments/scale``) are not kinds of their own."""
    group, _, version = api_version.rpartition("/")
    path = f"/apis/{group}/{version}" if group else f"/api/{version}"
    try:
        body = request_json(api, "GET", path)
    except NotFound:
        return {}
    kinds: dict[str, Kind] = {}
    for entry in body.get("resources") or []:
        name = str(entry.get("name") or "")
        if not name or "/" in name:
            continue
        kinds.setdefault(
            str(entry.get("kind")),
            Kind(str(entry.get("kind")), group, version, name, namespaced=bool(entry.get("namespaced"))),
        )
    return kinds
