"""What every controller shares: the owner/node indexes, the work-queue loop, conditions and hashing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from democluster.config import SimConfig
from democluster.errors import ApiError
from democluster.resources import BY_KEY, PODDISRUPTIONBUDGETS, PODS, SERVICES, Resource
from democluster.store import GENERATE_ALPHABET, Key, Obj, Store, key_of

if TYPE_CHECKING:
    from democluster.controllers.events import Recorder

log = logging.getLogger("democluster.controllers")

Ref = tuple[str, str, str]  # (resource key, namespace, name)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    """An RFC 3339 timestamp as Unix seconds."""
    if not value:
        return None
    return datetime.fromisoformat(value[:19]).replace(tzinfo=UTC).timestamp()  # strptime: ten times slower


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_reference(res: Resource, owner: Obj) -> dict[str, Any]:
    return {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_deleting(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def get_condition(status: Obj | None, type_: str) -> Obj | None:
    for cond in (status or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond
    return None


def set_condition(
    status: Obj,
    type_: str,
    value: str,
    reason: str,
    message: str,
    *,
    update_time: bool = False,
    force: bool = False,
) -> None:
    """Set a condition as the controllers' SetCondition helpers do: unchanged when status and reason
    already match (unless ``force``), otherwise replaced and moved last, keeping lastTransitionTime
    while the status does not flip."""
    now = now_rfc3339()
    conditions = status.setdefault("conditions", [])
    old = get_condition(status, type_)
    if old is not None and not force and old.get("status") == value and old.get("reason") == reason:
        return
    cond: Obj = {"type": type_, "status": value}
    if update_time:
        cond["lastUpdateTime"] = now
    cond["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == value else now
    cond["reason"] = reason
    cond["message"] = message
    status["conditions"] = [c for c in conditions if c.get("type") != type_] + [cond]


def remove_condition(status: Obj, type_: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != type_]


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def canonical_template(template: Obj | None, ignore_label: str | None = None) -> Obj:
    """The template as the controllers compare it: nulls dropped (kubectl undo sends
    ``creationTimestamp: null``), empty label/annotation maps dropped, and the hash label ignored."""
    tpl = _strip_nulls(template or {})
    md = dict(tpl.get("metadata") or {})
    if ignore_label and md.get("labels"):
        md["labels"] = {k: v for k, v in md["labels"].items() if k != ignore_label}
    for field in ("labels", "annotations"):
        if not md.get(field):
            md.pop(field, None)
    if md:
        tpl["metadata"] = md
    else:
        tpl.pop("metadata", None)
    return tpl


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(value: int) -> str:
    """rand.SafeEncodeString of the decimal digits, as Kubernetes spells template hashes."""
    return "".join(GENERATE_ALPHABET[ord(ch) % len(GENERATE_ALPHABET)] for ch in str(value))


def template_hash(template: Obj | None, collision_count: int = 0, ignore_label: str | None = None) -> str:
    data = orjson.dumps(canonical_template(template, ignore_label), option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(fnv32a(data))


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        pct = int(text[:-1])
        scaled = pct * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(text)


def pod_is_ready(pod: Obj) -> bool:
    cond = get_condition(pod.get("status"), "Ready")
    return bool(cond and cond.get("status") == "True")


def pod_is_active(pod: Obj) -> bool:
    return not is_deleting(pod) and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def counted_moved(old: Obj | None, new: Obj) -> bool:
    """Whether a Pod's change may move what its controller counts (active, ready, available, labeled, whose it is):
    not when only its annotations (or its resourceVersion) changed, as most of scale mode's churn does."""
    if old is None or old.get("status") != new.get("status"):
        return True
    m, old_m = new["metadata"], old["metadata"]
    return any(m.get(field) != old_m.get(field) for field in ("labels", "ownerReferences", "deletionTimestamp"))


def pod_available_in(pod: Obj, min_ready_seconds: int, now: float) -> float | None:
    """0 when the pod is available, the seconds until it will be, or None when it is not ready."""
    if not pod_is_ready(pod):
        return None
    if min_ready_seconds <= 0:
        return 0.0
    since = parse_time(get_condition(pod["status"], "Ready").get("lastTransitionTime")) or now
    return max(0.0, since + min_ready_seconds - now)


_ALL = ("", "", "")  # the index entry of a selector with no label to look it up by (it may select any Pod)


def selector_item(res_key: str, obj: Obj) -> tuple[str, ...] | None:
    """One (label, value) every Pod the Service's or PodDisruptionBudget's selector selects carries; None when it
    selects no Pod (a Service without a selector, a null PDB selector); ``_ALL`` when no single label says (an
    empty PDB selector selects every Pod, one of matchExpressions alone many)."""
    spec = obj.get("spec") or {}
    if res_key == SERVICES.key:
        selector = spec.get("selector") or {}
        return min(selector.items()) if selector else None
    selector = spec.get("selector")
    if selector is None:
        return None
    labels = selector.get("matchLabels") or {}
    return min(labels.items()) if labels else _ALL


def _indexed_moved(old: Obj, new: Obj) -> bool:
    """Whether a Pod's change moves its entries in the indexes (its owners, uid, labels, node)."""
    m, old_m = new["metadata"], old["metadata"]
    if any(m.get(field) != old_m.get(field) for field in ("uid", "labels", "ownerReferences")):
        return True
    return (new.get("spec") or {}).get("nodeName") != (old.get("spec") or {}).get("nodeName")


class Index:
    """Owner, node and label indexes kept from the store's listener, so no tick scans every object.

    The label indexes are those kube-controller-manager's informers keep in spirit: Pods by (namespace, label,
    value), and Services and PodDisruptionBudgets by one (namespace, label, value) their selector requires. A Pod's
    change then finds the few selectors that may select it, and a selector its Pods, without a scan of the
    namespace: at 150,000 Pods a scan per Pod made democluster's scale mode take minutes to build."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_owner: dict[str, dict[Ref, None]] = {}
        self.by_uid: dict[str, Ref] = {}
        self.pods_by_node: dict[str, dict[Key, None]] = {}
        self.pods_by_label: dict[tuple[str, str, str], dict[Key, None]] = {}
        self.by_selector: dict[str, dict[tuple[str, str, str], dict[Key, None]]] = {
            SERVICES.key: {},
            PODDISRUPTIONBUDGETS.key: {},
        }
        for res_key, objects in store.objects.items():
            for obj in objects.values():
                self.observe(res_key, None, obj)

    def observe(self, res_key: str, old: Obj | None, new: Obj | None) -> None:
        if res_key == PODS.key and old is not None and new is not None and not _indexed_moved(old, new):
            return
        if old is not None:
            m = old["metadata"]
            ref = (res_key, m.get("namespace") or "", m["name"])
            for owner in m.get("ownerReferences") or ():
                deps = self.by_owner.get(owner.get("uid"))
                if deps is not None:
                    deps.pop(ref, None)
                    if not deps:
                        del self.by_owner[owner.get("uid")]
            self.by_uid.pop(m.get("uid"), None)
            if res_key == PODS.key:
                node = (old.get("spec") or {}).get("nodeName")
                if node and node in self.pods_by_node:
                    self.pods_by_node[node].pop(key_of(old), None)
                for label in (m.get("labels") or {}).items():
                    self._unindex(self.pods_by_label, (ref[1], *label), ref[1:])
            elif res_key in self.by_selector:
                item = selector_item(res_key, old)
                if item is not None:
                    self._unindex(self.by_selector[res_key], (ref[1], *item) if item != _ALL else _ALL, ref[1:])
        if new is not None:
            m = new["metadata"]
            ref = (res_key, m.get("namespace") or "", m["name"])
            for owner in m.get("ownerReferences") or ():
                self.by_owner.setdefault(owner.get("uid"), {})[ref] = None
            self.by_uid[m.get("uid")] = ref
            if res_key == PODS.key:
                node = (new.get("spec") or {}).get("nodeName")
                if node:
                    self.pods_by_node.setdefault(node, {})[key_of(new)] = None
                for label in (m.get("labels") or {}).items():
                    self.pods_by_label.setdefault((ref[1], *label), {})[ref[1:]] = None
            elif res_key in self.by_selector:
                item = selector_item(res_key, new)
                if item is not None:
                    entry = (ref[1], *item) if item != _ALL else _ALL
                    self.by_selector[res_key].setdefault(entry, {})[ref[1:]] = None

    @staticmethod
    def _unindex(index: dict[Any, dict[Key, None]], entry: Any, key: Key) -> None:
        keys = index.get(entry)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del index[entry]

    def pods_carrying(self, namespace: str, labels: dict[str, str] | None) -> list[Obj]:
        """The namespace's Pods that carry one of ``labels`` (a selector's matchLabels; the caller tests the whole
        selector), or all of them when there is none."""
        if not labels:
            return self.store.list(PODS, namespace)
        pods = self.store.objects[PODS.key]
        found = (pods.get(key) for key in self.pods_by_label.get((namespace, *min(labels.items())), ()))
        return [pod for pod in found if pod is not None]

    def selecting(self, res: Resource, namespace: str, *label_sets: dict[str, str] | None) -> list[Obj]:
        """The Services or PodDisruptionBudgets of the namespace that may select a Pod with one of ``label_sets``
        (the caller tests each selector)."""
        index = self.by_selector[res.key]
        keys: dict[Key, None] = {key: None for key in index.get(_ALL, ()) if key[0] == namespace}
        for labels in label_sets:
            for label in (labels or {}).items():
                keys.update(index.get((namespace, *label), {}))
        objects = self.store.objects[res.key]
        found = (objects.get(key) for key in keys)
        return [obj for obj in found if obj is not None]

    def owned(self, owner_uid: str, res: Resource, *, controller_only: bool = True) -> list[Obj]:
        """Objects of one resource whose (controller) ownerReference names this uid."""
        found = []
        objects = self.store.objects[res.key]
        for res_key, ns, name in list(self.by_owner.get(owner_uid, ())):
            if res_key != res.key:
                continue
            obj = objects.get((ns, name))
            if obj is None:
                continue
            if controller_only:
                ref = controller_ref(obj)
                if not ref or ref.get("uid") != owner_uid:
                    continue
            found.append(obj)
        return found

    def dependents(self, owner_uid: str) -> list[tuple[Resource, Obj]]:
        found = []
        for res_key, ns, name in list(self.by_owner.get(owner_uid, ())):
            obj = self.store.objects[res_key].get((ns, name))
            if obj is not None:
                found.append((BY_KEY[res_key], obj))
        return found

    def exists(self, uid: str) -> bool:
        return uid in self.by_uid

    def lookup(self, uid: str) -> tuple[Resource, Obj] | None:
        ref = self.by_uid.get(uid)
        if ref is None:
            return None
        obj = self.store.objects[ref[0]].get((ref[1], ref[2]))
        return (BY_KEY[ref[0]], obj) if obj is not None else None


class Context:
    """What the controllers share: the store, the config, the indexes and the event recorder."""

    def __init__(self, store: Store, config: SimConfig) -> None:
        from democluster.controllers.events import Recorder

        self.store = store
        self.config = config
        self.index = Index(store)
        self.recorder: Recorder = Recorder(store)
        self.controllers: dict[str, Controller] = {}
        # The wall clock, replaceable in tests (the CronJob controller reads it).
        self.clock: Callable[[], float] = time.time

    def enqueue(self, controller: str, key: Key, after: float = 0.0) -> None:
        ctrl = self.controllers.get(controller)
        if ctrl is not None:
            ctrl.enqueue(key, after)


class Controller:
    """A work queue of (namespace, name) keys drained every tick by ``reconcile``."""

    name = "controller"
    res: Resource

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.config = ctx.config
        self.index = ctx.index
        self.recorder = ctx.recorder
        self.queue: dict[Key, None] = {}
        self.writing_status = False  # within ``write_status``: the change is this controller's own
        self.wakeup = asyncio.Event()
        self.timers: dict[Key, asyncio.TimerHandle] = {}

    def enqueue(self, key: Key, after: float = 0.0) -> None:
        if after > 0:
            loop = asyncio.get_running_loop()
            existing = self.timers.get(key)
            due = loop.time() + after
            if existing is not None and not existing.cancelled() and existing.when() <= due:
                return
            if existing is not None:
                existing.cancel()
            self.timers[key] = loop.call_at(due, self._fire, key)
            return
        self.queue[key] = None

    def _fire(self, key: Key) -> None:
        self.timers.pop(key, None)
        self.queue[key] = None

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        """Enqueue the keys a change concerns (called synchronously by the store)."""

    def reconcile(self, namespace: str, name: str) -> None:
        raise NotImplementedError

    def periodic(self) -> None:
        """Time-driven work checked once per tick."""

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick)
            try:
                self.periodic()
            except Exception:
                log.exception("%s: periodic work failed", self.name)
            if not self.queue:
                continue
            keys = list(self.queue)
            self.queue.clear()
            for key in keys:
                try:
                    self.reconcile(*key)
                except ApiError as exc:
                    if exc.code == 404:
                        continue
                    log.debug("%s: %s/%s: %s; retrying", self.name, key[0], key[1], exc.message)
                    self.enqueue(key, 0.2)
                except Exception:
                    log.exception("%s: reconciling %s/%s failed", self.name, *key)
                    self.enqueue(key, 1.0)
                # Yield now and then so a large queue does not starve the HTTP server.
                await asyncio.sleep(0)

    def write_status(self, obj: Obj) -> Obj:
        """Write the status of one of this controller's objects. ``on_change`` sees ``writing_status`` and need not
        enqueue the object again for it: the reconcile that wrote it saw what it depends on, and whatever changes
        next enqueues it (this halves the ReplicaSet and Deployment reconciles of a readiness flip)."""
        self.writing_status = True
        try:
            return self.store.update(self.res, obj, subresource="status")
        finally:
            self.writing_status = False

    def enqueue_owner(self, obj: Obj | None, kind: str) -> None:
        if obj is None:
            return
        ref = controller_ref(obj)
        if ref and ref.get("kind") == kind:
            self.enqueue((obj["metadata"].get("namespace") or "", ref["name"]))
