"""What a change does: the fields it changes (before and after) and whether it starts a rollout."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from workloads import redaction
from workloads.edits import validators
from workloads.edits.patch import MERGE_KEYS

# Annotations that change on every apply and say nothing about the workload.
NOISY_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
TEMPLATE_PATHS = {"CronJob": "spec.jobTemplate.spec.template"}
ITEM: Any = type("Item", (str,), {})("{…}")  # the marker value of a keyed list item (compared by identity)


@dataclass
class FieldChange:
    path: str
    before: str | None
    after: str | None

    @property
    def action(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


@dataclass
class Diff:
    kind: str
    changes: list[FieldChange] = field(default_factory=list)
    text: str = ""

    @property
    def template_path(self) -> str:
        return TEMPLATE_PATHS.get(self.kind, "spec.template")

    @property
    def template_changed(self) -> bool:
        prefix = self.template_path
        return any(c.path == prefix or c.path.startswith((prefix + ".", prefix + "[")) for c in self.changes)

    @property
    def starts_rollout(self) -> bool:
        return self.template_changed and self.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")

    @property
    def hidden_characters(self) -> list[str]:
        """Invisible and bidi characters in what changes (a value that looks unchanged may not be)."""
        text = "".join(f"{c.path}{c.before or ''}{c.after or ''}" for c in self.changes)
        return validators.hidden_characters(text)

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]

    def __bool__(self) -> bool:
        return bool(self.changes)


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """The parts of an object a person changes: labels, annotations and spec."""
    metadata = obj.get("metadata") or {}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in NOISY_ANNOTATIONS}
    result: dict[str, Any] = {"metadata": {}}
    if metadata.get("labels"):
        result["metadata"]["labels"] = metadata["labels"]
    if annotations:
        result["metadata"]["annotations"] = annotations
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            result[key] = value
    return result


def flatten(value: Any, path: str = "", items: dict[str, Any] | None = None) -> dict[str, str]:
    """Leaf paths to displayed values; keyed lists use their merge key (``containers[app]``), and each keyed
    item also gets a marker path (in ``items`` with the whole item)."""
    if isinstance(value, dict) and value:
        out: dict[str, str] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{path}.{key}" if path else str(key), items))
        return out
    if isinstance(value, list) and value:
        key_name = path.rsplit(".", 1)[-1]
        merge_key = MERGE_KEYS.get(key_name)
        if merge_key and all(isinstance(i, dict) and merge_key in i for i in value):
            out = {}
            for item in value:
                item_path = f"{path}[{item[merge_key]}]"
                out.update(flatten({k: v for k, v in item.items() if k != merge_key}, item_path, items))
                out[item_path] = ITEM
                if items is not None:
                    items[item_path] = item
            return out
        if any(isinstance(i, (dict, list)) for i in value):
            out = {}
            for index, item in enumerate(value):
                out.update(flatten(item, f"{path}[{index}]", items))
            return out
    return {path: _show(value)}


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def diff_objects(kind: str, before: dict[str, Any], after: dict[str, Any]) -> Diff:
    """Secret-looking values are hidden on both sides (with a digest, so that a change still shows): a diff is
    shown on preview pages and kept in the audit trail."""
    # Redacted whole first: what it hides may depend on the kind (a Secret's values), which ``comparable`` drops.
    old = comparable(redaction.redact(before, digest=True))
    new = comparable(redaction.redact(after, digest=True))
    old_items: dict[str, Any] = {}
    flat_old, flat_new = flatten(old, items=old_items), flatten(new)
    # A removed list item is one change (the whole item), not one per field; an added one shows its fields.
    removed = [p for p, value in flat_old.items() if value is ITEM and p not in flat_new]
    changes = []
    for path in [*flat_old, *(p for p in flat_new if p not in flat_old)]:
        a, b = flat_old.get(path), flat_new.get(path)
        if a == b or b is ITEM:
            continue
        if any(path.startswith((r + ".", r + "[")) for r in removed):
            continue
        if a is ITEM:
            a = json.dumps(old_items[path], ensure_ascii=False)
        changes.append(FieldChange(path, a, b))
    text = "".join(
        difflib.unified_diff(
            _yaml(old).splitlines(keepends=True), _yaml(new).splitlines(keepends=True), "before", "after", n=3
        )
    )
    return Diff(kind=kind, changes=changes, text=text)


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
