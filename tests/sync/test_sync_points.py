"""Rollout points recorded by the batches the watchers apply: a ReplicaSet batch records one only when it may move
the workload's newest revision (new, rolled back, deleted), not for its status, and each point is compared with the
workload's newest one however many it has."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import factories as f
from workloads.models import RolloutSample
from workloads.sync import ingest

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

Obj = dict[str, Any]
_version = iter(range(100, 10_000))


def _meta(name: str, uid: str, **extra: Any) -> Obj:
    return {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": str(next(_version)), **extra}


def _deployment(replicas: int, available: int) -> Obj:
    return {
        "kind": "Deployment",
        "metadata": _meta("web", "d-web", generation=1),
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
        },
    }


def _replicaset(uid: str, template_hash: str, revision: int, ready: int) -> Obj:
    owner = {"kind": "Deployment", "name": "web", "uid": "d-web", "controller": True}
    return {
        "kind": "ReplicaSet",
        "metadata": _meta(
            f"web-{template_hash}",
            uid,
            labels={"pod-template-hash": template_hash},
            annotations={"deployment.kubernetes.io/revision": str(revision)},
            ownerReferences=[owner],
        ),
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"pod-template-hash": template_hash}}}},
        "status": {"replicas": 2, "readyReplicas": ready},
    }


def _pod(name: str, rs_uid: str, template_hash: str) -> Obj:
    owner = {"kind": "ReplicaSet", "name": f"web-{template_hash}", "uid": rs_uid, "controller": True}
    return {
        "kind": "Pod",
        "metadata": _meta(name, f"p-{name}", labels={"pod-template-hash": template_hash}, ownerReferences=[owner]),
        "spec": {"containers": [{"name": "web"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def _points(cluster_id: int) -> list[tuple[str, int, int]]:
    return list(
        RolloutSample.objects.filter(cluster_id=cluster_id, workload_uid="d-web")
        .order_by("at", "pk")
        .values_list("revision", "ready", "new_ready")
    )


def test_a_replicaset_batch_records_a_point_when_the_newest_revision_moves_and_not_for_its_status() -> None:
    cluster = f.make_cluster()
    ingest.apply_events(cluster.pk, "Deployment", [("ADDED", _deployment(2, 1))])
    ingest.apply_events(cluster.pk, "ReplicaSet", [("ADDED", _replicaset("rs-a", "aaa", 1, 1))])
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", _pod("web-a1", "rs-a", "aaa"))])
    assert _points(cluster.pk)[-1] == ("aaa", 1, 1)

    # Status only: the newest revision stays, and so does the point.
    before = _points(cluster.pk)
    ingest.apply_events(cluster.pk, "ReplicaSet", [("MODIFIED", _replicaset("rs-a", "aaa", 1, 2))])
    assert _points(cluster.pk) == before

    # A new ReplicaSet is a new revision: its Pods are not ready on it yet.
    ingest.apply_events(cluster.pk, "ReplicaSet", [("ADDED", _replicaset("rs-b", "bbb", 2, 0))])
    assert _points(cluster.pk)[-1] == ("bbb", 1, 0)

    # A rollback gives the old ReplicaSet the newest revision number: its Pods count as new again.
    ingest.apply_events(cluster.pk, "ReplicaSet", [("MODIFIED", _replicaset("rs-a", "aaa", 3, 1))])
    assert _points(cluster.pk)[-1] == ("aaa", 1, 1)
    assert len(_points(cluster.pk)) == len(before) + 2
