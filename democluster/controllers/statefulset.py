"""The StatefulSet controller: ordinal Pods, ControllerRevisions, OrderedReady/Parallel management and
RollingUpdate (highest ordinal first, down to the partition) or OnDelete updates."""

from __future__ import annotations

import time

from democluster.controllers.base import (
    Controller,
    canonical_template,
    is_deleting,
    owner_reference,
    pod_available_in,
    pod_is_ready,
    template_hash,
)
from democluster.errors import ApiError
from democluster.resources import CONTROLLERREVISIONS, PODS, STATEFULSETS, Resource
from democluster.store import Obj, clone

COMPONENT = "statefulset-controller"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def revision_data(template: Obj) -> Obj:
    """ControllerRevision.data as the controllers store it: a strategic merge patch replacing the template."""
    tpl = clone(template)
    tpl["$patch"] = "replace"
    return {"spec": {"template": tpl}}


def data_template(revision: Obj) -> Obj:
    tpl = clone(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    tpl.pop("$patch", None)
    return tpl


class RevisionHistory:
    """ControllerRevisions shared by the StatefulSet and DaemonSet controllers."""

    def __init__(self, controller: Controller, owner_res: Resource) -> None:
        self.controller = controller
        self.owner_res = owner_res

    def revisions(self, owner: Obj) -> list[Obj]:
        found = self.controller.index.owned(owner["metadata"]["uid"], CONTROLLERREVISIONS)
        return sorted(found, key=lambda r: r.get("revision", 0))

    def ensure(self, owner: Obj) -> tuple[Obj, list[Obj]]:
        """The revision for the owner's current template (created, or re-numbered when it is an old one)."""
        store = self.controller.store
        revisions = self.revisions(owner)
        template = owner["spec"].get("template") or {}
        wanted = canonical_template(template)
        latest = max((r.get("revision", 0) for r in revisions), default=0)
        for rev in revisions:
            if canonical_template(data_template(rev)) == wanted:
                if rev.get("revision", 0) != latest:
                    bumped = clone(rev)
                    bumped["revision"] = latest + 1
                    rev = store.update(CONTROLLERREVISIONS, bumped)
                return rev, self.revisions(owner)
        pod_hash = template_hash(template, owner["status"].get("collisionCount", 0) if owner.get("status") else 0)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[HASH_LABEL] = pod_hash
        name = f"{owner['metadata']['name']}-{pod_hash}"
        revision = {
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": labels,
                "ownerReferences": [owner_reference(self.owner_res, owner)],
            },
            "data": revision_data(template),
            "revision": latest + 1,
        }
        existing = store.try_get(CONTROLLERREVISIONS, owner["metadata"]["namespace"], name)
        if existing is not None:
            store.remove(CONTROLLERREVISIONS, owner["metadata"]["namespace"], name)
        created = store.create(CONTROLLERREVISIONS, revision)
        return created, self.revisions(owner)

    def truncate(self, owner: Obj, keep: set[str]) -> None:
        limit = owner["spec"].get("revisionHistoryLimit", 10)
        revisions = [r for r in self.revisions(owner) if r["metadata"]["name"] not in keep]
        for rev in revisions[: max(0, len(revisions) - limit)]:
            try:
                self.controller.store.delete(CONTROLLERREVISIONS, rev["metadata"]["namespace"], rev["metadata"]["name"])
            except ApiError:
                pass


def ordinal_of(sts_name: str, pod: Obj) -> int | None:
    name = pod["metadata"]["name"]
    prefix = f"{sts_name}-"
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        return int(name[len(prefix) :])
    return None


def running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and pod_is_ready(pod)


class StatefulSetController(Controller):
    name = "statefulset"
    res = STATEFULSETS

    def __init__(self, ctx) -> None:  # noqa: ANN001
        super().__init__(ctx)
        self.history = RevisionHistory(self, STATEFULSETS)

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is STATEFULSETS:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is PODS:
            self.enqueue_owner(new, "StatefulSet")

    def pod_for(self, sts: Obj, revision: Obj, ordinal: int) -> Obj:
        name = sts["metadata"]["name"]
        template = data_template(revision)
        md = template.get("metadata") or {}
        labels = dict(md.get("labels") or {})
        labels[REVISION_LABEL] = revision["metadata"]["name"]
        labels[POD_NAME_LABEL] = f"{name}-{ordinal}"
        labels[POD_INDEX_LABEL] = str(ordinal)
        metadata: Obj = {
            "name": f"{name}-{ordinal}",
            "namespace": sts["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(STATEFULSETS, sts)],
        }
        if md.get("annotations"):
            metadata["annotations"] = md["annotations"]
        spec = clone(template.get("spec") or {})
        spec["hostname"] = f"{name}-{ordinal}"
        if sts["spec"].get("serviceName"):
            spec["subdomain"] = sts["spec"]["serviceName"]
        return {"metadata": metadata, "spec": spec}

    def reconcile(self, namespace: str, name: str) -> None:
        sts = self.store.try_get(STATEFULSETS, namespace, name)
        if sts is None or is_deleting(sts):
            return
        spec = sts["spec"]
        update_rev, revisions = self.history.ensure(sts)
        by_name = {r["metadata"]["name"]: r for r in revisions}
        status = sts.get("status") or {}
        current_rev = by_name.get(status.get("currentRevision", ""), update_rev)
        want = spec.get("replicas", 1)
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition = ((strategy.get("rollingUpdate") or {}).get("partition") or 0) if rolling else 0
        parallel = spec.get("podManagementPolicy", "OrderedReady") == "Parallel"
        pods: dict[int, Obj] = {}
        condemned: list[Obj] = []
        for pod in self.index.owned(sts["metadata"]["uid"], PODS):
            ordinal = ordinal_of(name, pod)
            if ordinal is None:
                continue
            if ordinal < want:
                pods[ordinal] = pod
            else:
                condemned.append(pod)
        self.sync_pods(sts, pods, condemned, want, current_rev, update_rev, rolling, partition, parallel)
        self.sync_status(sts, current_rev, update_rev, rolling, partition)
        keep = {current_rev["metadata"]["name"], update_rev["metadata"]["name"]}
        keep |= {(p["metadata"].get("labels") or {}).get(REVISION_LABEL, "") for p in pods.values()}
        self.history.truncate(sts, keep)

    def sync_pods(
        self,
        sts: Obj,
        pods: dict[int, Obj],
        condemned: list[Obj],
        want: int,
        current_rev: Obj,
        update_rev: Obj,
        rolling: bool,
        partition: int,
        parallel: bool,
    ) -> None:
        namespace, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for ordinal in range(want):
            pod = pods.get(ordinal)
            if pod is not None and (pod.get("status") or {}).get("phase") == "Failed" and not is_deleting(pod):
                self.delete_pod(sts, pod)
                if not parallel:
                    return
                continue
            if pod is None:
                revision = current_rev if rolling and ordinal < partition else update_rev
                created = self.store.create(PODS, self.pod_for(sts, revision, ordinal))
                self.recorder.record(
                    STATEFULSETS,
                    sts,
                    "Normal",
                    "SuccessfulCreate",
                    f"create Pod {created['metadata']['name']} in StatefulSet {name} successful",
                    component=COMPONENT,
                )
                if not parallel:
                    return
                continue
            if not parallel and (is_deleting(pod) or not running_and_ready(pod)):
                return
        # Scale down from the highest ordinal, one at a time unless Parallel.
        for pod in sorted(condemned, key=lambda p: -(ordinal_of(name, p) or 0)):
            if is_deleting(pod):
                if not parallel:
                    return
                continue
            if not parallel and any(not running_and_ready(p) for p in pods.values()):
                return
            self.delete_pod(sts, pod)
            if not parallel:
                return
        if condemned and not parallel:
            return
        if not rolling:
            return  # OnDelete: Pods take the new template only when someone deletes them
        update_name = update_rev["metadata"]["name"]
        for ordinal in sorted(pods, reverse=True):
            if ordinal < partition:
                break
            pod = pods[ordinal]
            if (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) == update_name:
                if not running_and_ready(pod) or is_deleting(pod):
                    return  # wait for the updated Pod before touching the next ordinal
                continue
            if is_deleting(pod):
                return
            if all(running_and_ready(p) for p in pods.values()) and len(pods) == want:
                self.delete_pod(sts, pod)
            return
        del namespace

    def delete_pod(self, sts: Obj, pod: Obj) -> None:
        try:
            self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except ApiError:
            return
        self.recorder.record(
            STATEFULSETS,
            sts,
            "Normal",
            "SuccessfulDelete",
            f"delete Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']} successful",
            component=COMPONENT,
        )

    def sync_status(self, sts: Obj, current_rev: Obj, update_rev: Obj, rolling: bool, partition: int) -> None:
        spec = sts["spec"]
        want = spec.get("replicas", 1)
        name = sts["metadata"]["name"]
        pods = [p for p in self.index.owned(sts["metadata"]["uid"], PODS) if ordinal_of(name, p) is not None]
        min_ready = spec.get("minReadySeconds", 0)
        now = time.time()
        replicas = ready = available = current = updated = 0
        wait = None
        for pod in pods:
            if is_deleting(pod):
                continue
            replicas += 1
            if running_and_ready(pod):
                ready += 1
                remaining = pod_available_in(pod, min_ready, now)
                if remaining == 0:
                    available += 1
                elif remaining is not None:
                    wait = remaining if wait is None else min(wait, remaining)
            revision = (pod["metadata"].get("labels") or {}).get(REVISION_LABEL)
            if revision == current_rev["metadata"]["name"]:
                current += 1
            if revision == update_rev["metadata"]["name"]:
                updated += 1
        if wait is not None:
            self.enqueue((sts["metadata"]["namespace"], name), wait + 0.05)
        current_name = current_rev["metadata"]["name"]
        if current_name != update_rev["metadata"]["name"] and updated == want and ready == want and replicas == want:
            current_name, current = update_rev["metadata"]["name"], updated
        old = sts.get("status") or {}
        status: Obj = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": replicas,
        }
        if ready:
            status["readyReplicas"] = ready
        if current:
            status["currentReplicas"] = current
        if updated:
            status["updatedReplicas"] = updated
        status["currentRevision"] = current_name
        status["updateRevision"] = update_rev["metadata"]["name"]
        status["collisionCount"] = old.get("collisionCount", 0)
        status["availableReplicas"] = available
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        if status != old:
            self.store.update(STATEFULSETS, {**sts, "status": status}, subresource="status")
