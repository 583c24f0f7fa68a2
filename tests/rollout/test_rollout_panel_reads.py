"""What the rollout panel reads of a workload's Pods: their columns, and whole objects only of the Pods with
something to say (issue 16: a live page of a workload with 1,000 Pods renders the panel on every frame)."""

from __future__ import annotations

import copy

import pytest

from tests.support import factories as f
from workloads.models import Pod, Workload
from workloads.rollouts import panel
from workloads.rollouts.causes import PodRow

pytestmark = pytest.mark.django_db

NS = "shop"


def rollout_with_trouble() -> tuple[Workload, dict[str, Pod]]:
    """A Deployment mid-rollout: old Pods ready (one terminating), new Pods ready, pulling a wrong image, creating
    their container, running but not ready."""
    cluster = f.make_cluster("reads")
    f.make_namespace(cluster, NS)
    old_t = f.pod_template({"app": "web"}, [f.container("web", "nginx:1.26")])
    new_t = f.pod_template({"app": "web"}, [f.container("web", "nginx:1.99-typo")])
    deploy = f.make_deployment(cluster, NS, "web", new_t, replicas=4, ready=4, updated=4, total=7, revision=2)
    pods: dict[str, Pod] = {}
    for rs, t, kinds in (
        (f.make_replicaset(cluster, deploy, old_t, revision=1, replicas=3), old_t, ["ready", "ready", "leaving"]),
        (
            f.make_replicaset(cluster, deploy, new_t, revision=2, replicas=4, ready=1),
            new_t,
            ["ready", "pull", "creating", "unready"],
        ),
    ):
        labelled = copy.deepcopy(t)
        labelled["metadata"]["labels"]["pod-template-hash"] = rs.template_hash
        for i, what in enumerate(kinds):
            kw: dict = {
                "ready": {"ready": True},
                "leaving": {"ready": True},
                "pull": {"ready": False, "phase": "Pending", "waiting_reason": "ImagePullBackOff"},
                "creating": {"ready": False, "phase": "Pending"},
                "unready": {"ready": False},
            }[what]
            raw = f.pod_raw(f"{rs.name}-{i}", NS, labelled, owner=("ReplicaSet", rs.name, rs.uid), **kw)
            if what == "leaving":
                raw["metadata"]["deletionTimestamp"] = raw["metadata"]["creationTimestamp"]
            age = "new" if rs.revision == 2 else "old"
            pods[f"{age}-{what}-{i}"] = f.pod_row(cluster, raw, workload_uid=deploy.uid)
    return deploy, pods


def test_only_the_pods_with_something_to_say_are_read_whole() -> None:
    deploy, pods = rollout_with_trouble()
    assert Pod.objects.get(pk=pods["old-leaving-2"].pk).terminating
    panel._objects.clear()
    rows = {row.name: row for row in panel.pod_rows(deploy)}
    read = {name for name, row in rows.items() if row.obj is not None}
    assert read == {pods[k].name for k in ("new-pull-1", "new-creating-2", "new-unready-3")}
    assert rows[pods["old-leaving-2"].name].terminating and rows[pods["old-ready-0"].name].ready
    assert {uid for _, uid in panel._objects} == {rows[name].uid for name in read}


def test_the_panel_says_why_from_columns_and_the_objects_it_read() -> None:
    deploy, pods = rollout_with_trouble()
    unready = pods["new-unready-3"]
    f.make_event(
        deploy.cluster,
        kind="Pod",
        name=unready.name,
        involved_uid=unready.uid,
        namespace=NS,
        reason="Unhealthy",
        message="Readiness probe failed: HTTP probe failed with statuscode: 503",
        type="Warning",
    )
    panel._objects.clear()
    rollout = panel.panel_context(deploy)["rollout"]
    assert rollout.causes == [
        "1 new Pod cannot pull image nginx:1.99-typo (ImagePullBackOff)",
        "readiness probe failing on 1 new Pod: HTTP probe failed with statuscode: 503",
    ]


def test_a_pod_read_again_only_once_it_changed() -> None:
    deploy, pods = rollout_with_trouble()
    panel._objects.clear()
    panel.pod_rows(deploy)
    pull = Pod.objects.get(pk=pods["new-pull-1"].pk)
    kept = panel._objects[(deploy.cluster_id, pull.uid)][1]
    assert panel.pod_rows(deploy)[4].obj is kept  # the same resourceVersion: not parsed again

    raw = copy.deepcopy(pull.raw)
    raw["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    raw["metadata"]["resourceVersion"] = str(pull.resource_version + 1)
    Pod.objects.filter(pk=pull.pk).update(raw=raw, resource_version=pull.resource_version + 1)
    rollout = panel.panel_context(deploy)["rollout"]
    assert any(c.startswith("new Pods crash: CrashLoopBackOff") for c in rollout.causes)


def test_rows_from_whole_pods_say_what_the_columns_say() -> None:
    """analyse() also takes whole Pods (as tests and callers without a mirror have them): read by the sync's rules."""
    deploy, pods = rollout_with_trouble()
    from_columns = {row.uid: row for row in panel.pod_rows(deploy)}
    for pod in Pod.objects.filter(pk__in=[p.pk for p in pods.values()]):
        whole = PodRow.of(pod.raw)
        column = from_columns[pod.uid]
        assert (whole.uid, whole.name, whole.template_hash, whole.phase, whole.ready, whole.terminating) == (
            column.uid,
            column.name,
            column.template_hash,
            column.phase,
            column.ready,
            column.terminating,
        )
        assert whole.needs_object == column.needs_object == (column.obj is not None)
