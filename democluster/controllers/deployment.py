"""The Deployment controller, following kubernetes/pkg/controller/deployment (sync.go, rolling.go,
recreate.go, progress.go and util/deployment_util.go) closely enough that kubectl cannot tell."""

from __future__ import annotations

import time

from democluster.controllers.base import (
    Context,
    Controller,
    canonical_template,
    get_condition,
    int_or_percent,
    owner_reference,
    parse_time,
    pod_is_active,
    remove_condition,
    set_condition,
    template_hash,
)
from democluster.errors import ApiError
from democluster.resources import DEPLOYMENTS, PODS, REPLICASETS, Resource
from democluster.store import Obj, clone

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations the controller does not copy to its ReplicaSets.
NOT_COPIED = {
    LAST_APPLIED,
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}


def replicas(obj: Obj | None) -> int:
    return (obj or {}).get("spec", {}).get("replicas", 1) if obj else 0


def available(rs: Obj | None) -> int:
    return ((rs or {}).get("status") or {}).get("availableReplicas", 0)


def revision_of(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def created_at(rs: Obj) -> tuple[float, str]:
    return (parse_time(rs["metadata"].get("creationTimestamp")) or 0.0, rs["metadata"]["name"])


def is_rolling(d: Obj) -> bool:
    return ((d["spec"].get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable): surge rounds up, unavailable down, and both 0 means 1 unavailable."""
    rolling = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    want = replicas(d)
    surge = int_or_percent(rolling.get("maxSurge", "25%"), want, True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), want, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Obj) -> int:
    return fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(fenceposts(d)[1], replicas(d))


def has_progress_deadline(d: Obj) -> bool:
    deadline = d["spec"].get("progressDeadlineSeconds", 600)
    return deadline is not None and deadline != 2**31 - 1


class DeploymentController(Controller):
    name = "deployment"
    res = DEPLOYMENTS

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.templates: dict[tuple[str, int], Obj] = {}

    def on_change(self, type_: str, res: Resource, old: Obj | None, new: Obj) -> None:
        if res is DEPLOYMENTS and not self.writing_status:
            self.enqueue((new["metadata"]["namespace"], new["metadata"]["name"]))
        elif res is REPLICASETS:
            self.enqueue_owner(new, "Deployment")
        elif res is PODS and type_ == "DELETED":
            # Recreate waits for the old Pods to be gone.
            rs_ref = (new["metadata"].get("ownerReferences") or [{}])[0]
            if rs_ref.get("kind") == "ReplicaSet":
                rs = self.store.try_get(REPLICASETS, new["metadata"]["namespace"], rs_ref.get("name", ""))
                self.enqueue_owner(rs, "Deployment")

    # --- reading ------------------------------------------------------------------------------

    def replica_sets(self, d: Obj) -> list[Obj]:
        return sorted(self.index.owned(d["metadata"]["uid"], REPLICASETS), key=created_at)

    def find_new(self, d: Obj, rss: list[Obj]) -> Obj | None:
        """The oldest ReplicaSet whose template equals the Deployment's, ignoring pod-template-hash."""
        wanted = self.template_of(d)
        for rs in rss:
            if self.template_of(rs) == wanted:
                return rs
        return None

    def template_of(self, obj: Obj) -> Obj:
        """A Deployment's or ReplicaSet's canonical template, kept by its uid and generation (which every change of
        its spec moves): every status change of a ReplicaSet reconciles its Deployment, which looks for its new one
        each time."""
        key = (obj["metadata"].get("uid", ""), obj["metadata"].get("generation", 1))
        template = self.templates.get(key)
        if template is None:
            if len(self.templates) >= 10_000:
                self.templates.clear()
            template = self.templates[key] = canonical_template(obj["spec"].get("template"), HASH_LABEL)
        return template

    # --- writing ReplicaSets ------------------------------------------------------------------

    def scale_rs(self, d: Obj, rs: Obj, count: int) -> Obj:
        old_count = replicas(rs)
        annotations = dict(rs["metadata"].get("annotations") or {})
        annotations[DESIRED_REPLICAS] = str(replicas(d))
        annotations[MAX_REPLICAS] = str(replicas(d) + max_surge(d))
        if old_count == count and annotations == (rs["metadata"].get("annotations") or {}):
            return rs
        new = clone(rs)
        new["spec"]["replicas"] = count
        new["metadata"]["annotations"] = annotations
        new = self.store.update(REPLICASETS, new)
        if old_count != count:
            direction = "up" if count > old_count else "down"
            self.recorder.record(
                DEPLOYMENTS,
                d,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {rs['metadata']['name']} to {count} from {old_count}",
                component=COMPONENT,
            )
        return new

    def get_new_rs(self, d: Obj, rss: list[Obj], old_rss: list[Obj], create: bool) -> Obj | None:
        """Find or create the new ReplicaSet and sync the revision annotations (getNewReplicaSet)."""
        existing = self.find_new(d, rss)
        max_old = max((revision_of(rs) for rs in old_rss), default=0)
        new_revision = max_old + 1
        status = d.setdefault("status", {})
        annotations = d["metadata"].setdefault("annotations", {})
        if existing is not None:
            rs_ann = dict(existing["metadata"].get("annotations") or {})
            changed = self._copy_annotations(d, rs_ann, new_revision, existing)
            if changed or (existing["spec"].get("minReadySeconds", 0) != d["spec"].get("minReadySeconds", 0)):
                rs = clone(existing)
                rs["metadata"]["annotations"] = rs_ann
                rs["spec"]["minReadySeconds"] = d["spec"].get("minReadySeconds", 0)
                if not rs["spec"]["minReadySeconds"]:
                    rs["spec"].pop("minReadySeconds")
                existing = self.store.update(REPLICASETS, rs)
            annotations[REVISION] = existing["metadata"]["annotations"][REVISION]
            if has_progress_deadline(d) and get_condition(status, "Progressing") is None:
                set_condition(
                    status,
                    "Progressing",
                    "True",
                    "FoundNewReplicaSet",
                    f'Found new replica set "{existing["metadata"]["name"]}"',
                    update_time=True,
                )
            return existing
        if not create:
            return None
        template = clone(d["spec"]["template"])
        collision = status.get("collisionCount", 0)
        while True:
            pod_hash = template_hash(template, collision, HASH_LABEL)
            rs_name = f"{d['metadata']['name']}-{pod_hash}"
            clash = self.store.try_get(REPLICASETS, d["metadata"]["namespace"], rs_name)
            if clash is None:
                break
            collision += 1
            status["collisionCount"] = collision
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        template["metadata"].pop("creationTimestamp", None)
        selector = clone(d["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        rs_ann: dict[str, str] = {}
        self._copy_annotations(d, rs_ann, new_revision, None)
        new_count = self.new_rs_replicas(d, rss, None)
        spec: Obj = {"replicas": new_count, "selector": selector, "template": template}
        if d["spec"].get("minReadySeconds"):
            spec["minReadySeconds"] = d["spec"]["minReadySeconds"]
        rs = {
            "metadata": {
                "name": rs_name,
                "namespace": d["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": rs_ann,
                "ownerReferences": [owner_reference(DEPLOYMENTS, d)],
            },
            "spec": spec,
        }
        created = self.store.create(REPLICASETS, rs)
        if new_count > 0:
            self.recorder.record(
                DEPLOYMENTS,
                d,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {rs_name} to {new_count} from 0",
                component=COMPONENT,
            )
        annotations[REVISION] = str(new_revision)
        if has_progress_deadline(d):
            set_condition(
                status,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                f'Created new replica set "{rs_name}"',
                update_time=True,
            )
        return created

    def _copy_annotations(self, d: Obj, rs_ann: dict[str, str], new_revision: int, existing: Obj | None) -> bool:
        before = dict(rs_ann)
        for key, value in (d["metadata"].get("annotations") or {}).items():
            if key not in NOT_COPIED:
                rs_ann[key] = value
        old_revision = rs_ann.get(REVISION)
        old_int = int(old_revision) if old_revision and old_revision.isdigit() else 0
        if old_int < new_revision:
            rs_ann[REVISION] = str(new_revision)
            if old_revision and existing is not None:
                history = rs_ann.get(REVISION_HISTORY)
                rs_ann[REVISION_HISTORY] = f"{history},{old_revision}" if history else old_revision
        rs_ann[DESIRED_REPLICAS] = str(replicas(d))
        rs_ann[MAX_REPLICAS] = str(replicas(d) + max_surge(d))
        return rs_ann != before

    def new_rs_replicas(self, d: Obj, all_rss: list[Obj], new_rs: Obj | None) -> int:
        if not is_rolling(d):
            return replicas(d)
        current = sum(replicas(rs) for rs in all_rss)
        max_total = replicas(d) + max_surge(d)
        new_count = replicas(new_rs) if new_rs else 0
        if current >= max_total:
            return new_count
        scale_up = min(max_total - current, replicas(d) - new_count)
        return new_count + max(0, scale_up)

    # --- the sync loop ------------------------------------------------------------------------

    def reconcile(self, namespace: str, name: str) -> None:
        stored = self.store.try_get(DEPLOYMENTS, namespace, name)
        if stored is None:
            return
        d = clone(stored)
        rss = self.replica_sets(d)
        if d["metadata"].get("deletionTimestamp"):
            self.sync_status(stored, d, rss, self.find_new(d, rss), rollout=False)
            return
        if not (d["spec"].get("selector") or {}).get("matchLabels") and not (d["spec"].get("selector") or {}).get(
            "matchExpressions"
        ):
            return  # an empty selector selects everything: the real controller refuses it too
        self.check_paused(d)
        if d["spec"].get("paused"):
            self.sync_scale_only(stored, d, rss)
            return
        if self.is_scaling_event(d, rss):
            self.sync_scale_only(stored, d, rss)
            return
        if is_rolling(d):
            self.rollout_rolling(stored, d, rss)
        else:
            self.rollout_recreate(stored, d, rss)

    def check_paused(self, d: Obj) -> None:
        status = d.setdefault("status", {})
        cond = get_condition(status, "Progressing")
        if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
            return
        paused_exists = cond is not None and cond.get("reason") == "DeploymentPaused"
        if d["spec"].get("paused") and not paused_exists:
            set_condition(
                status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", update_time=True
            )
        elif not d["spec"].get("paused") and paused_exists:
            set_condition(
                status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", update_time=True
            )

    def is_scaling_event(self, d: Obj, rss: list[Obj]) -> bool:
        for rs in rss:
            if replicas(rs) <= 0:
                continue
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS)
            if desired is not None and desired.isdigit() and int(desired) != replicas(d):
                return True
        return False

    def split(self, d: Obj, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        existing = self.find_new(d, rss)
        old = [rs for rs in rss if existing is None or rs["metadata"]["uid"] != existing["metadata"]["uid"]]
        new = self.get_new_rs(d, rss, old, create)
        rss[:] = self.replica_sets(d)
        if new is not None:
            old = [rs for rs in rss if rs["metadata"]["uid"] != new["metadata"]["uid"]]
            new = next(rs for rs in rss if rs["metadata"]["uid"] == new["metadata"]["uid"])
        return new, old

    def sync_scale_only(self, stored: Obj, d: Obj, rss: list[Obj]) -> None:
        new_rs, old_rss = self.split(d, rss, create=False)
        self.scale(d, new_rs, old_rss)
        if d["spec"].get("paused"):
            self.cleanup(d, old_rss)
        rss = self.replica_sets(d)
        new_rs = self.find_new(d, rss)
        self.sync_status(stored, d, rss, new_rs, rollout=False)

    def scale(self, d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        all_rss = ([new_rs] if new_rs else []) + old_rss
        active = [rs for rs in all_rss if replicas(rs) > 0]
        target: Obj | None = None
        if len(active) == 1:
            target = active[0]
        elif not active:
            target = new_rs or (max(old_rss, key=created_at) if old_rss else None)
        if target is not None or len(active) <= 1:
            if target is not None:
                self.scale_rs(d, target, replicas(d))
            return
        if new_rs is not None and replicas(new_rs) == replicas(d) and available(new_rs) == replicas(d):
            for rs in old_rss:
                if replicas(rs):
                    self.scale_rs(d, rs, 0)
            return
        if not is_rolling(d):
            return
        # Proportional scaling: share the difference by current size, the remainder to the largest/newest.
        total = sum(replicas(rs) for rs in active)
        allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
        to_add = allowed - total
        if to_add == 0:
            for rs in active:
                self.scale_rs(d, rs, replicas(rs))
            return
        ordered = sorted(active, key=lambda rs: (replicas(rs), created_at(rs)), reverse=True)
        added = 0
        sizes = {}
        for rs in ordered:
            share = 0
            if total:
                share = (replicas(rs) * to_add) // total if to_add > 0 else -((replicas(rs) * -to_add) // total)
            sizes[rs["metadata"]["uid"]] = share
            added += share
        leftover = to_add - added
        if ordered:
            sizes[ordered[0]["metadata"]["uid"]] += leftover
        for rs in ordered:
            self.scale_rs(d, rs, max(0, replicas(rs) + sizes[rs["metadata"]["uid"]]))

    def rollout_rolling(self, stored: Obj, d: Obj, rss: list[Obj]) -> None:
        new_rs, old_rss = self.split(d, rss, create=True)
        assert new_rs is not None
        all_rss = [new_rs] + old_rss
        if self.reconcile_new_rs(d, all_rss, new_rs) or self.reconcile_old_rss(d, new_rs, old_rss):
            rss = self.replica_sets(d)
            self.sync_status(stored, d, rss, self.find_new(d, rss), rollout=True)
            return
        if self.complete(d, self.calculate_status(d, all_rss, new_rs)):
            self.cleanup(d, old_rss)
        rss = self.replica_sets(d)
        self.sync_status(stored, d, rss, self.find_new(d, rss), rollout=True)

    def reconcile_new_rs(self, d: Obj, all_rss: list[Obj], new_rs: Obj) -> bool:
        if replicas(new_rs) == replicas(d):
            return False
        if replicas(new_rs) > replicas(d):
            self.scale_rs(d, new_rs, replicas(d))
            return True
        count = self.new_rs_replicas(d, all_rss, new_rs)
        if count == replicas(new_rs):
            return False
        self.scale_rs(d, new_rs, count)
        return True

    def reconcile_old_rss(self, d: Obj, new_rs: Obj, old_rss: list[Obj]) -> bool:
        old_active = [rs for rs in old_rss if replicas(rs) > 0]
        if not old_active:
            return False
        all_count = replicas(new_rs) + sum(replicas(rs) for rs in old_active)
        min_available = replicas(d) - max_unavailable(d)
        new_unavailable = replicas(new_rs) - available(new_rs)
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        # Unhealthy replicas first: they cost no availability.
        cleaned = 0
        current: dict[str, Obj] = {rs["metadata"]["uid"]: rs for rs in old_active}
        for rs in sorted(old_active, key=created_at):
            if cleaned >= max_scaled_down:
                break
            unhealthy = replicas(rs) - available(rs)
            if replicas(rs) == 0 or unhealthy <= 0:
                continue
            step = min(max_scaled_down - cleaned, unhealthy)
            current[rs["metadata"]["uid"]] = self.scale_rs(d, rs, replicas(rs) - step)
            cleaned += step
        # Then healthy ones, oldest first, as far as availability allows.
        available_count = available(new_rs) + sum(available(rs) for rs in current.values())
        scaled = 0
        if available_count > min_available:
            budget = available_count - min_available
            for rs in sorted(current.values(), key=created_at):
                if scaled >= budget:
                    break
                if replicas(rs) == 0:
                    continue
                step = min(replicas(rs), budget - scaled)
                self.scale_rs(d, rs, replicas(rs) - step)
                scaled += step
        return cleaned + scaled > 0

    def rollout_recreate(self, stored: Obj, d: Obj, rss: list[Obj]) -> None:
        new_rs, old_rss = self.split(d, rss, create=False)
        scaled_down = False
        for rs in old_rss:
            if replicas(rs) > 0:
                self.scale_rs(d, rs, 0)
                scaled_down = True
        if scaled_down or self.old_pods_running(old_rss):
            rss = self.replica_sets(d)
            self.sync_status(stored, d, rss, self.find_new(d, rss), rollout=True)
            return
        if new_rs is None:
            rss = self.replica_sets(d)
            new_rs, old_rss = self.split(d, rss, create=True)
        if new_rs is not None and replicas(new_rs) != replicas(d):
            self.scale_rs(d, new_rs, replicas(d))
        rss = self.replica_sets(d)
        new_rs = self.find_new(d, rss)
        if self.complete(d, self.calculate_status(d, rss, new_rs)):
            self.cleanup(d, [rs for rs in rss if rs is not new_rs])
        self.sync_status(stored, d, self.replica_sets(d), new_rs, rollout=True)

    def old_pods_running(self, old_rss: list[Obj]) -> bool:
        for rs in old_rss:
            for pod in self.index.owned(rs["metadata"]["uid"], PODS):
                phase = (pod.get("status") or {}).get("phase")
                if phase not in ("Succeeded", "Failed") or pod_is_active(pod):
                    return True
        return False

    def cleanup(self, d: Obj, old_rss: list[Obj]) -> None:
        limit = d["spec"].get("revisionHistoryLimit", 10)
        if limit is None:
            return
        candidates = [
            rs
            for rs in old_rss
            if not rs["metadata"].get("deletionTimestamp")
            and replicas(rs) == 0
            and (rs.get("status") or {}).get("replicas", 0) == 0
        ]
        excess = len(candidates) - limit
        for rs in sorted(candidates, key=lambda rs: (revision_of(rs), created_at(rs)))[: max(0, excess)]:
            try:
                self.store.delete(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])
            except ApiError:
                pass

    # --- status -------------------------------------------------------------------------------

    def calculate_status(self, d: Obj, all_rss: list[Obj], new_rs: Obj | None) -> Obj:
        available_count = sum(available(rs) for rs in all_rss)
        total = sum(replicas(rs) for rs in all_rss)
        status: Obj = {"observedGeneration": d["metadata"].get("generation", 1)}
        counters = {
            "replicas": sum((rs.get("status") or {}).get("replicas", 0) for rs in all_rss),
            "updatedReplicas": ((new_rs or {}).get("status") or {}).get("replicas", 0) if new_rs else 0,
            "readyReplicas": sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in all_rss),
            "availableReplicas": available_count,
            "unavailableReplicas": max(0, total - available_count),
        }
        status.update({k: v for k, v in counters.items() if v})
        old = d.get("status") or {}
        if old.get("conditions"):
            status["conditions"] = clone(old["conditions"])
        if old.get("collisionCount"):
            status["collisionCount"] = old["collisionCount"]
        if available_count >= replicas(d) - max_unavailable(d):
            set_condition(
                status,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                update_time=True,
            )
        else:
            set_condition(
                status,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                update_time=True,
            )
        return status

    def complete(self, d: Obj, status: Obj) -> bool:
        want = replicas(d)
        return (
            status.get("updatedReplicas", 0) == want
            and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
        )

    def progressing(self, d: Obj, new: Obj) -> bool:
        old = d.get("status") or {}
        old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
        new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
        return (
            new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
            or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0)
        )

    def sync_status(self, stored: Obj, d: Obj, rss: list[Obj], new_rs: Obj | None, *, rollout: bool) -> None:
        status = self.calculate_status(d, rss, new_rs)
        if rollout:
            self.rollout_conditions(d, status, rss, new_rs)
        old_status = stored.get("status") or {}
        annotations = d["metadata"].get("annotations") or {}
        if status == old_status and annotations == (stored["metadata"].get("annotations") or {}):
            return
        write = {**stored, "metadata": {**stored["metadata"], "annotations": annotations}, "status": status}
        if not annotations:
            write["metadata"].pop("annotations")
        self.write_status(write)

    def rollout_conditions(self, d: Obj, status: Obj, rss: list[Obj], new_rs: Obj | None) -> None:
        if not has_progress_deadline(d):
            remove_condition(status, "Progressing")
            return
        current = get_condition(status, "Progressing")
        is_complete = (
            status.get("replicas", 0) == status.get("updatedReplicas", 0)
            and current is not None
            and current.get("reason") == "NewReplicaSetAvailable"
        )
        if is_complete:
            return
        rs_name = new_rs["metadata"]["name"] if new_rs else None
        if self.complete(d, status):
            msg = (
                f'ReplicaSet "{rs_name}" has successfully progressed.'
                if rs_name
                else "Deployment has successfully progressed."
            )
            set_condition(status, "Progressing", "True", "NewReplicaSetAvailable", msg, update_time=True)
        elif self.progressing(d, status):
            msg = f'ReplicaSet "{rs_name}" is progressing.' if rs_name else "Deployment is progressing."
            # Forced: lastUpdateTime moves on every sign of progress, and the deadline counts from it.
            set_condition(status, "Progressing", "True", "ReplicaSetUpdated", msg, update_time=True, force=True)
            current = get_condition(status, "Progressing")
            self.enqueue_deadline(d, current)
        elif current is not None and current.get("reason") != "ProgressDeadlineExceeded":
            deadline = d["spec"].get("progressDeadlineSeconds", 600)
            since = parse_time(current.get("lastUpdateTime")) or time.time()
            if since + deadline < time.time():
                msg = (
                    f'ReplicaSet "{rs_name}" has timed out progressing.'
                    if rs_name
                    else "Deployment has timed out progressing."
                )
                set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded", msg, update_time=True)
            else:
                self.enqueue_deadline(d, current)

    def enqueue_deadline(self, d: Obj, cond: Obj | None) -> None:
        if cond is None:
            return
        deadline = d["spec"].get("progressDeadlineSeconds", 600)
        since = parse_time(cond.get("lastUpdateTime")) or time.time()
        self.enqueue(
            (d["metadata"]["namespace"], d["metadata"]["name"]), max(0.1, since + deadline - time.time() + 1.0)
        )


__all__ = ["DeploymentController", "HASH_LABEL", "REVISION"]
