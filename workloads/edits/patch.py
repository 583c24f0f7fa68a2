"""Patches from "the object as read" to "the object as the form wants it".

A strategic merge patch carries only what changed: lists Kubernetes merges by key (containers by name, env by
name, ports by containerPort...) get per-item patches, ``$patch: delete`` for removed items and
``$setElementOrder`` so the order the form shows is the order the server keeps. The YAML tab uses a JSON merge
patch instead (lists replaced whole), which is exact for any edit of the full object.
"""

from __future__ import annotations

import copy
from typing import Any

from workloads.kube import JSON_PATCH

# patchMergeKey of the Pod template lists Podium edits or may see changed (from the Kubernetes API types).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "resourceClaims": "name",
}
# What the server owns: never sent back, never compared.
SERVER_METADATA = ("resourceVersion", "generation", "managedFields", "creationTimestamp", "uid", "selfLink")


def strategic_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The strategic merge patch that turns ``before`` into ``after``; empty when they are equal."""
    patch: dict[str, Any] = {}
    for key in [*after, *(k for k in before if k not in after)]:
        if key not in after:
            patch[key] = None
            continue
        new = after[key]
        if key not in before:
            patch[key] = copy.deepcopy(new)
            continue
        old = before[key]
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            sub = strategic_patch(old, new)
            if sub:
                patch[key] = sub
        elif isinstance(old, list) and isinstance(new, list) and _mergeable(key, old, new):
            merge_key = MERGE_KEYS[key]
            items = _list_patch(merge_key, old, new)
            if items:
                patch[key] = items
            if [i[merge_key] for i in old] != [i[merge_key] for i in new] or any("$patch" not in i for i in items):
                patch[f"$setElementOrder/{key}"] = [{merge_key: i[merge_key]} for i in new]
        elif isinstance(old, list) and isinstance(new, list) and key in MERGE_KEYS:
            # Duplicate or missing merge keys: replace the whole list rather than guess.
            patch[key] = [{"$patch": "replace"}, *copy.deepcopy(new)]
        else:
            patch[key] = copy.deepcopy(new)
    return patch


def _mergeable(key: str, old: list[Any], new: list[Any]) -> bool:
    merge_key = MERGE_KEYS.get(key)
    if not merge_key:
        return False
    for items in (old, new):
        if not all(isinstance(i, dict) and merge_key in i for i in items):
            return False
        if len({_hashable(i[merge_key]) for i in items}) != len(items):
            return False
    return True


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else repr(value)


def _list_patch(merge_key: str, old: list[dict], new: list[dict]) -> list[dict[str, Any]]:
    old_by_key = {_hashable(i[merge_key]): i for i in old}
    new_keys = {_hashable(i[merge_key]) for i in new}
    items: list[dict[str, Any]] = []
    for item in new:
        previous = old_by_key.get(_hashable(item[merge_key]))
        if previous is None:
            items.append(copy.deepcopy(item))
            continue
        sub = strategic_patch(previous, item)
        if sub:
            items.append({merge_key: item[merge_key], **sub})
    for item in old:
        if _hashable(item[merge_key]) not in new_keys:
            items.append({merge_key: item[merge_key], "$patch": "delete"})
    return items


def merge_patch(before: Any, after: Any) -> Any:
    """The RFC 7386 JSON merge patch from ``before`` to ``after`` (lists are replaced whole)."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return copy.deepcopy(after)
    patch: dict[str, Any] = {}
    for key in before:
        if key not in after:
            patch[key] = None
    for key, new in after.items():
        if key not in before:
            patch[key] = copy.deepcopy(new)
        elif before[key] != new:
            if isinstance(before[key], dict) and isinstance(new, dict):
                sub = merge_patch(before[key], new)
                if sub:
                    patch[key] = sub
            else:
                patch[key] = copy.deepcopy(new)
    return patch


def with_precondition(patch: Any, resource_version: str, content_type: str = "") -> Any:
    """The patch with the resourceVersion it was made against: the server refuses it if the object changed since.
    A merge or strategic patch carries ``metadata.resourceVersion`` (a 409); a JSON patch starts with a ``test`` of
    it (a 422)."""
    if content_type == JSON_PATCH:
        return [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}, *patch]
    body = copy.deepcopy(patch)
    body.setdefault("metadata", {})["resourceVersion"] = resource_version
    return body


def editable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status and server-owned metadata: what a person edits and what patches compare."""
    result = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    metadata = result.get("metadata") or {}
    result["metadata"] = {k: v for k, v in metadata.items() if k not in SERVER_METADATA}
    return result
