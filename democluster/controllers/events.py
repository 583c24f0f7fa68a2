"""Recording core/v1 Events the way client-go's recorder does: named ``<object>.<hex nanoseconds>``,
with repeats folded into one Event whose ``count`` goes up."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from democluster.errors import ApiError
from democluster.resources import EVENTS, Resource
from democluster.store import Obj, Store

# Events older than this are removed, as the API server's event TTL does.
EVENT_TTL_SECONDS = 3600


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Recorder:
    def __init__(self, store: Store) -> None:
        self.store = store
        # (involved uid, fieldPath, reason, message, type, component) -> (namespace, event name)
        self.seen: dict[tuple[str, ...], tuple[str, str]] = {}
        self.created: list[tuple[float, str, str]] = []  # (time, namespace, name), oldest first

    def record(
        self,
        res: Resource,
        obj: Obj,
        type_: str,
        reason: str,
        message: str,
        *,
        component: str,
        host: str | None = None,
        field_path: str | None = None,
        instance: str = "",
    ) -> None:
        m = obj["metadata"]
        namespace = m.get("namespace") or "default"
        key = (m.get("uid", ""), field_path or "", reason, message, type_, component)
        existing = self.seen.get(key)
        if existing is not None:
            event = self.store.try_get(EVENTS, *existing)
            if event is not None:
                bumped = {**event, "count": event.get("count", 1) + 1, "lastTimestamp": _now()}
                bumped["metadata"] = {k: v for k, v in event["metadata"].items() if k != "resourceVersion"}
                self.store.update(EVENTS, bumped)
                return
        involved: dict[str, Any] = {
            "kind": res.kind,
            "namespace": m.get("namespace") or "",
            "name": m["name"],
            "uid": m.get("uid", ""),
            "apiVersion": res.api_version,
            "resourceVersion": m.get("resourceVersion", ""),
        }
        if not m.get("namespace"):
            del involved["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        source: dict[str, str] = {"component": component}
        if host:
            source["host"] = host
        now = _now()
        event = {
            "metadata": {"name": f"{m['name']}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "reportingComponent": component,
            "reportingInstance": instance,
        }
        self._create(event, key)

    def record_scheduled(self, pod: Obj, node: str) -> None:
        """The scheduler writes events.k8s.io/v1 Events: core/v1 shows eventTime and no timestamps."""
        m = pod["metadata"]
        event = {
            "metadata": {"name": f"{m['name']}.{time.time_ns():x}", "namespace": m["namespace"]},
            "involvedObject": {
                "kind": "Pod",
                "namespace": m["namespace"],
                "name": m["name"],
                "uid": m["uid"],
                "apiVersion": "v1",
                "resourceVersion": m.get("resourceVersion", ""),
            },
            "reason": "Scheduled",
            "message": f"Successfully assigned {m['namespace']}/{m['name']} to {node}",
            "source": {},
            "type": "Normal",
            "eventTime": _now_micro(),
            "action": "Binding",
            "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-control-plane",
        }
        self._create(event, None)

    def _create(self, event: Obj, key: tuple[str, ...] | None) -> None:
        try:
            created = self.store.create(EVENTS, event)
        except ApiError:
            return  # the namespace is gone, or a name collided within a nanosecond: drop it
        ns, name = created["metadata"]["namespace"], created["metadata"]["name"]
        if key is not None:
            self.seen[key] = (ns, name)
        self.created.append((time.time(), ns, name))

    def expire(self) -> None:
        """Remove Events past their TTL."""
        cutoff = time.time() - EVENT_TTL_SECONDS
        while self.created and self.created[0][0] < cutoff:
            _, ns, name = self.created.pop(0)
            self.store.remove(EVENTS, ns, name)
        if len(self.seen) > 50_000:
            self.seen = {k: v for k, v in self.seen.items() if self.store.try_get(EVENTS, *v) is not None}
