"""The garbage collector: dependents follow their owners (Background), lose their ownerReferences
(``orphan`` finalizer) or go first (``foregroundDeletion`` finalizer)."""

from __future__ import annotations

from democluster.controllers.base import Controller, is_deleting
from democluster.errors import ApiError
from democluster.resources import BY_KEY, Resource
from democluster.store import Obj, clone

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


class GarbageCollector(Controller):
    """Keys are object uids (namespace slot ``"uid"``); the work is the same for every resource."""

    name = "garbagecollector"

    def __init__(self, ctx) -> None:  # noqa: ANN001 - Context, imported lazily to avoid a cycle
        super().__init__(ctx)
        self.last_expiry = 0.0

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        m = new["metadata"]
        if type_ == "DELETED":
            # Its dependents may now be garbage, and an owner waiting in foreground may be free.
            for _, dep in self.index.dependents(m["uid"]):
                self.enqueue(("uid", dep["metadata"]["uid"]))
            for ref in m.get("ownerReferences") or ():
                self.enqueue(("uid", ref.get("uid", "")))
            return
        if m.get("deletionTimestamp") and (m.get("finalizers") or ()):
            finalizers = m["finalizers"]
            if ORPHAN in finalizers or FOREGROUND in finalizers:
                self.enqueue(("uid", m["uid"]))
        if m.get("deletionTimestamp"):
            for ref in m.get("ownerReferences") or ():
                self.enqueue(("uid", ref.get("uid", "")))
        elif type_ == "ADDED" and m.get("ownerReferences"):
            # A dependent created after its owner went away (or naming a uid that never existed).
            self.enqueue(("uid", m["uid"]))

    def periodic(self) -> None:
        now = self.ctx.clock()
        if now - self.last_expiry > 30:
            self.last_expiry = now
            self.recorder.expire()

    def reconcile(self, _: str, uid: str) -> None:
        found = self.index.lookup(uid)
        if found is None:
            return
        res, obj = found
        finalizers = obj["metadata"].get("finalizers") or []
        if is_deleting(obj) and ORPHAN in finalizers:
            self.orphan_dependents(obj)
        elif is_deleting(obj) and FOREGROUND in finalizers:
            self.delete_foreground(res, obj)
        self.collect_if_garbage(res, obj)

    def orphan_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for dep_res, dep in self.index.dependents(uid):
            new = clone(dep)
            refs = [r for r in new["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            new["metadata"].pop("resourceVersion", None)
            self.store.update(dep_res, new)
        self.remove_finalizer(owner, ORPHAN)

    def delete_foreground(self, res: Resource, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        blocking = 0
        for dep_res, dep in self.index.dependents(uid):
            ref = next((r for r in dep["metadata"].get("ownerReferences") or () if r.get("uid") == uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not is_deleting(dep):
                try:
                    self.store.delete(
                        dep_res, dep["metadata"].get("namespace"), dep["metadata"]["name"], propagation="Foreground"
                    )
                except ApiError:
                    pass
        if blocking == 0:
            self.remove_finalizer(owner, FOREGROUND)

    def remove_finalizer(self, obj: Obj, finalizer: str) -> None:
        res_ref = self.index.by_uid.get(obj["metadata"]["uid"])
        if res_ref is None:
            return
        res = BY_KEY[res_ref[0]]
        current = self.store.try_get(res, res_ref[1], res_ref[2])
        if current is None:
            return
        new = clone(current)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or () if f != finalizer]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        self.store.update(res, new)

    def collect_if_garbage(self, res: Resource, obj: Obj) -> None:
        """Delete an object whose owners are all gone; drop references to owners that are gone."""
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs or is_deleting(obj):
            return
        alive = [r for r in refs if self.index.exists(r.get("uid", ""))]
        if len(alive) == len(refs):
            # Owners deleting in foreground take this dependent with them.
            for ref in refs:
                owner = self.index.lookup(ref.get("uid", ""))
                if owner and is_deleting(owner[1]) and FOREGROUND in (owner[1]["metadata"].get("finalizers") or ()):
                    self.enqueue(("uid", ref["uid"]))
            return
        m = obj["metadata"]
        if not alive:
            try:
                self.store.delete(res, m.get("namespace"), m["name"], propagation="Background")
            except ApiError:
                pass
            return
        new = clone(obj)
        new["metadata"]["ownerReferences"] = alive
        new["metadata"].pop("resourceVersion", None)
        self.store.update(res, new)
