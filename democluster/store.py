"""The object store: one global resourceVersion, watch history, and change listeners.

Everything runs on one asyncio loop, so the store needs no locks. Stored objects are treated as
immutable: every write stores a new dict, and readers (the server, controllers) must copy before
they change anything (``copy.deepcopy`` or ``clone``). Objects are stored without ``kind`` and
``apiVersion``; the server adds them where the API shows them (a GET, a watch event).
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from democluster import errors
from democluster.resources import BY_KEY, JOBS, NAMESPACES, PODS, RESOURCES, Resource
from democluster.selectors import Predicate

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

# Admission hooks default and validate an object before it is stored; they may change ``new``
# in place and raise ApiError (422). Called as hook(res, new, old) with old None on create.
Admission = Callable[[Resource, Obj, Obj | None], None]
# Listeners are told of every committed change: listener(type, res, old, new).
Listener = Callable[[str, Resource, Obj | None, Obj], None]


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clone(obj: Obj) -> Obj:
    """A deep copy, faster than copy.deepcopy for JSON-shaped data."""
    return orjson.loads(orjson.dumps(obj))


def meta(obj: Obj) -> Obj:
    return obj.setdefault("metadata", {})


def key_of(obj: Obj) -> Key:
    m = obj.get("metadata") or {}
    return (m.get("namespace") or "", m.get("name") or "")


@dataclass
class Change:
    rv: int
    res_key: str
    type: str  # ADDED, MODIFIED, DELETED
    old: Obj | None
    new: Obj


@dataclass(eq=False)
class Watcher:
    res: Resource
    namespace: str | None
    predicate: Predicate | None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and (obj.get("metadata") or {}).get("namespace") != self.namespace:
            return False
        return self.predicate is None or self.predicate(obj)

    def offer(self, change: Change) -> None:
        """Queue the event this watcher sees for a change, with selector entry/exit semantics."""
        was, now = self.matches(change.old), self.matches(change.new)
        if change.type == "DELETED":
            if now or was:
                self.queue.put_nowait(("DELETED", change.new))
        elif was and now:
            self.queue.put_nowait(("MODIFIED", change.new))
        elif now:
            self.queue.put_nowait(("ADDED", change.new))
        elif was:
            self.queue.put_nowait(("DELETED", change.new))


class Store:
    def __init__(self, history_size: int = 200_000) -> None:
        self.rv = 1
        self.objects: dict[str, dict[Key, Obj]] = {r.key: {} for r in RESOURCES}
        self.history: deque[Change] = deque(maxlen=history_size)
        self.compacted_rv = 1  # a watch from an RV older than this gets 410 Expired
        self.watchers: set[Watcher] = set()
        self.listeners: list[Listener] = []
        self.admission: list[Admission] = []
        self.bootstrap()

    def bootstrap(self) -> None:
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if (("", name)) not in self.objects[NAMESPACES.key]:
                self.create(NAMESPACES, {"metadata": {"name": name}})

    # --- reading -------------------------------------------------------------------------------

    def try_get(self, res: Resource, namespace: str | None, name: str) -> Obj | None:
        return self.objects[res.key].get((namespace or "" if res.namespaced else "", name))

    def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        obj = self.try_get(res, namespace, name)
        if obj is None:
            raise errors.not_found(res, name)
        return obj

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        predicate: Predicate | None = None,
    ) -> list[Obj]:
        """Objects in creation order of their keys (stable), optionally filtered."""
        items = self.objects[res.key].values()
        if namespace is not None and res.namespaced:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
        if predicate is not None:
            items = [o for o in items if predicate(o)]
        return list(items)

    def dependents(self, owner_uid: str, res: Resource | None = None) -> list[tuple[Resource, Obj]]:
        """Objects whose ownerReferences name this uid."""
        found = []
        for r in [res] if res else RESOURCES:
            for obj in self.objects[r.key].values():
                for ref in obj["metadata"].get("ownerReferences") or ():
                    if ref.get("uid") == owner_uid:
                        found.append((r, obj))
                        break
        return found

    # --- writing -------------------------------------------------------------------------------

    def _bump(self) -> str:
        self.rv += 1
        return str(self.rv)

    def _commit(self, res: Resource, type_: str, old: Obj | None, new: Obj) -> None:
        change = Change(self.rv, res.key, type_, old, new)
        self.history.append(change)
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv - 1
        for watcher in list(self.watchers):
            if watcher.res.key == res.key:
                watcher.offer(change)
        for listener in list(self.listeners):
            listener(type_, res, old, new)

    def _admit(self, res: Resource, new: Obj, old: Obj | None) -> None:
        for hook in self.admission:
            hook(res, new, old)

    def create(self, res: Resource, obj: Obj, *, namespace: str | None = None, dry_run: bool = False) -> Obj:
        new = clone(obj)
        new.pop("kind", None)
        new.pop("apiVersion", None)
        m = meta(new)
        if res.namespaced:
            ns = namespace or m.get("namespace") or "default"
            if m.get("namespace") and namespace and m["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            m["namespace"] = ns
            if ("", ns) not in self.objects[NAMESPACES.key]:
                raise errors.not_found(NAMESPACES, ns)
        else:
            m.pop("namespace", None)
        if not m.get("name") and m.get("generateName"):
            for _ in range(20):
                candidate = m["generateName"] + "".join(random.choices(GENERATE_ALPHABET, k=5))
                if key_of({"metadata": {**m, "name": candidate}}) not in self.objects[res.key]:
                    m["name"] = candidate
                    break
        if not m.get("name"):
            raise errors.invalid(
                res,
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: name or generateName is required",
                        "field": "metadata.name",
                    }
                ],
            )
        for server_field in (
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "selfLink",
        ):
            m.pop(server_field, None)
        # The uid exists before admission: Job defaulting puts it in the selector and template labels.
        m["uid"] = str(uuid.uuid4())
        self._admit(res, new, None)
        key = key_of(new)
        if key in self.objects[res.key]:
            raise errors.already_exists(res, m["name"])
        m["creationTimestamp"] = now_rfc3339()
        if res.has_generation:
            m["generation"] = 1
        if dry_run:
            m["resourceVersion"] = str(self.rv)
            return new
        m["resourceVersion"] = self._bump()
        self.objects[res.key][key] = new
        self._commit(res, "ADDED", None, new)
        return new

    def update(
        self,
        res: Resource,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Replace an object (PUT semantics). A ``metadata.resourceVersion`` in ``obj`` is a precondition.

        The main resource keeps the stored status; the ``status`` subresource changes only status.
        A write that changes nothing stores nothing and bumps no resourceVersion.
        """
        namespace, name = key_of(obj)
        old = self.get(res, namespace, name)
        wanted_rv = (obj.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(res, name)
        if subresource == "status":
            # Stored objects are never changed in place, so the new one may share what it keeps of the old one.
            new = {**old, "metadata": {**old["metadata"]}}
            if "status" in obj:
                new["status"] = clone(obj["status"])
            else:
                new.pop("status", None)
            # The status strategies reset only the spec (and Deployment labels): annotations written
            # through /status stick, which is how the deployment controller records its revision
            # without bumping the generation.
            if "annotations" in (obj.get("metadata") or {}):
                new["metadata"]["annotations"] = clone(obj["metadata"]["annotations"])
        else:
            keeps_status = "status" in res.subresources  # the main resource keeps the stored status: no copy of obj's
            new = clone({k: v for k, v in obj.items() if k != "status"} if keeps_status else obj)
            new.pop("kind", None)
            new.pop("apiVersion", None)
            if keeps_status:
                if "status" in old:
                    new["status"] = {**old["status"]}  # admission defaults only its top level (a Pod's phase)
                else:
                    new.pop("status", None)
            m, old_m = meta(new), old["metadata"]
            for immutable in (
                "uid",
                "creationTimestamp",
                "namespace",
                "name",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ):
                if immutable in old_m:
                    m[immutable] = old_m[immutable]
                else:
                    m.pop(immutable, None)
            m["generation"] = old_m.get("generation", 1) if res.has_generation else None
            if m["generation"] is None:
                del m["generation"]
            self._admit(res, new, old)
            if res.has_generation:
                spec_changed = new.get("spec") != old.get("spec")
                if "spec" not in new and "spec" not in old:  # an EndpointSlice: its endpoints and ports are its spec
                    spec_changed = {k: v for k, v in new.items() if k != "metadata"} != {
                        k: v for k, v in old.items() if k != "metadata"
                    }
                if res.kind == "Deployment":
                    spec_changed = spec_changed or (m.get("annotations") or {}) != (old_m.get("annotations") or {})
                if spec_changed:
                    m["generation"] = old_m.get("generation", 1) + 1
        meta(new)["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old
        if dry_run:
            return new
        m = meta(new)
        if m.get("deletionTimestamp") and not m.get("finalizers") and not self._pending_pod_termination(res, new):
            return self._remove(res, new)
        m["resourceVersion"] = self._bump()
        self.objects[res.key][key_of(new)] = new
        self._commit(res, "MODIFIED", old, new)
        return new

    def _pending_pod_termination(self, res: Resource, obj: Obj) -> bool:
        return res is PODS and bool(obj["metadata"].get("deletionGracePeriodSeconds"))

    def delete(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        grace_seconds: int | None = None,
        precondition_uid: str | None = None,
        precondition_rv: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete an object; returns (object, removed_now).

        Finalizers, Orphan/Foreground propagation and graceful Pod termination leave the object
        in place with ``deletionTimestamp`` set; the garbage collector and the kubelet finish it.
        ``propagation`` defaults to Background, except for Jobs (batch/v1 orphans).
        """
        old = self.get(res, namespace, name)
        m_old = old["metadata"]
        if precondition_uid and precondition_uid != m_old["uid"]:
            raise errors.conflict(res, name)
        if precondition_rv and precondition_rv != m_old["resourceVersion"]:
            raise errors.conflict(res, name)
        policy = propagation or ("Orphan" if res is JOBS else "Background")
        new = clone(old)
        m = new["metadata"]
        finalizers = list(m.get("finalizers") or [])
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        graceful = False
        if (
            res is PODS
            and (old.get("spec") or {}).get("nodeName")
            and (old.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ):
            grace = grace_seconds
            if grace is None:
                grace = (old.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            if m_old.get("deletionGracePeriodSeconds") is not None:
                grace = min(grace, m_old["deletionGracePeriodSeconds"])
            graceful = grace > 0
            if graceful:
                m["deletionGracePeriodSeconds"] = grace
            else:
                m.pop("deletionGracePeriodSeconds", None)
        if dry_run:
            return new, not (finalizers or graceful)
        if finalizers or graceful:
            if (
                m_old.get("deletionTimestamp")
                and finalizers == list(m_old.get("finalizers") or [])
                and m.get("deletionGracePeriodSeconds") == m_old.get("deletionGracePeriodSeconds")
            ):
                return old, False
            m["finalizers"] = finalizers
            if not finalizers:
                m.pop("finalizers")
            m.setdefault("deletionTimestamp", now_rfc3339())
            m["resourceVersion"] = self._bump()
            self.objects[res.key][key_of(new)] = new
            self._commit(res, "MODIFIED", old, new)
            return new, False
        return self._remove(res, old), True

    def _remove(self, res: Resource, obj: Obj) -> Obj:
        """Take an object out of the store now; the DELETED event carries the deletion RV."""
        key = key_of(obj)
        old = self.objects[res.key].pop(key)
        gone = clone(obj)
        gone["metadata"]["resourceVersion"] = self._bump()
        self._commit(res, "DELETED", old, gone)
        return gone

    def remove(self, res: Resource, namespace: str | None, name: str) -> Obj | None:
        """Remove at once, whatever finalizers or grace remain (the kubelet ending a Pod)."""
        obj = self.try_get(res, namespace, name)
        return None if obj is None else self._remove(res, obj)

    # --- watching ------------------------------------------------------------------------------

    def watch(self, res: Resource, namespace: str | None, predicate: Predicate | None, since_rv: int | None) -> Watcher:
        """Register a watcher. With ``since_rv`` the changes after it are queued first (410 if compacted);
        without it every current object is queued as ADDED."""
        watcher = Watcher(res, namespace, predicate)
        if since_rv is None:
            for obj in self.list(res, namespace, predicate):
                watcher.queue.put_nowait(("ADDED", obj))
        else:
            if since_rv < self.compacted_rv:
                raise errors.expired(f"too old resource version: {since_rv} ({self.compacted_rv})")
            for change in self.history:
                if change.rv > since_rv and change.res_key == res.key:
                    watcher.offer(change)
        self.watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)

    def compact(self) -> None:
        """Forget history, as etcd compaction does: every older watch RV now gets 410."""
        self.history.clear()
        self.compacted_rv = self.rv

    # --- persistence ---------------------------------------------------------------------------

    def dump(self) -> bytes:
        return orjson.dumps(
            {"resourceVersion": self.rv, "objects": {k: list(v.values()) for k, v in self.objects.items()}}
        )

    def load(self, data: bytes) -> None:
        snapshot = orjson.loads(data)
        self.rv = int(snapshot["resourceVersion"])
        self.compacted_rv = self.rv
        self.history.clear()
        for res_key, items in snapshot["objects"].items():
            if res_key in BY_KEY:
                self.objects[res_key] = {key_of(o): o for o in items}


def monotonic() -> float:
    return time.monotonic()


__all__ = ["Store", "Watcher", "Change", "clone", "now_rfc3339", "key_of", "copy"]
