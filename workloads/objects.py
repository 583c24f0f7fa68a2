"""Pure accessors over raw Kubernetes objects (the dicts the API server sends and the mirror keeps in ``raw``).

Written once here, used by the sync, the pages, the edits and the rollout analysis alike: where a Pod template sits
in each kind, its images, a condition, the controlling owner, timestamps, and a template as a person wrote it.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

Obj = dict[str, Any]

# The labels controllers add to a Pod template (Deployments and StatefulSets/DaemonSets), never written by a person.
HASH_LABELS = ("pod-template-hash", "controller-revision-hash")


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...``, or ``default`` where a step is missing, None or of the wrong type."""
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return default
        if obj is None:
            return default
    return obj


def as_int(value: Any, default: int = 0) -> int:
    """A count as the API server may send it (an int, a numeric string, or nothing)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as the API server writes it (``2026-01-02T03:04:05Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def controller_ref(obj: Obj) -> Obj:
    """The ownerReference marked ``controller: true`` (the owner that made the object), or {}."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return {}


def condition(obj: Obj, type_: str) -> Obj:
    """The object's ``status.conditions`` entry of that type, or {}."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return {}


def template_path(kind: str) -> list[str]:
    """Where the Pod template sits: a CronJob's is inside its Job template."""
    return ["spec", "jobTemplate", "spec", "template"] if kind == "CronJob" else ["spec", "template"]


def pod_template_of(kind: str, obj: Obj, *, create: bool = False) -> Obj:
    """The workload's Pod template (the same dict, so an edit changes ``obj``); ``create`` makes missing levels."""
    node = obj
    for key in template_path(kind):
        if create:
            node = node.setdefault(key, {})
        else:
            node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                return {}
    return node


def revision_pod_template(template: Obj, raw: Obj, source_kind: str) -> Obj:
    """The Pod template of a revision row (a ReplicaSet or ControllerRevision), stored unwrapped or not."""
    tpl = template or {}
    if "spec" in tpl and isinstance(tpl["spec"], dict) and "template" in tpl["spec"]:
        tpl = tpl["spec"]["template"]
    if tpl:
        return tpl
    if source_kind == "ControllerRevision":
        return dig(raw, "data", "spec", "template", default={})
    return dig(raw, "spec", "template", default={})


def images_of(template: Obj) -> list[str]:
    """The images of a Pod template's init containers and containers, in order."""
    spec = template.get("spec") or {}
    return [
        str(c.get("image", ""))
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        if isinstance(c, dict)
    ]


def normalized_template(pod_template: Obj) -> Obj:
    """A Pod template without the labels controllers add, so two revisions compare by what a person wrote."""
    tpl = copy.deepcopy(pod_template or {})
    meta = tpl.setdefault("metadata", {}) or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in HASH_LABELS}
    meta["labels"] = labels
    meta["annotations"] = dict(meta.get("annotations") or {})
    meta.pop("creationTimestamp", None)
    tpl["metadata"] = meta
    tpl.setdefault("spec", {})
    return tpl
