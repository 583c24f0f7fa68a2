"""Rollout points recorded by the batches the watchers apply: a ReplicaSet batch records one only when it may move
the workload's newest revision (new, rolled back, deleted), not for its status, a Pod batch only when it may move
what a point counts (a Pod ready or no longer), and each point is compared with the workload's newest one however
many it has. The Pods' links to their workload: made by whichever of a Pod and its ReplicaSet comes last."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from tests.support import factories as f
from workloads.models import Pod, RolloutSample
from workloads.sync import ingest, samples, sql

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


def _changed(obj: Obj, **fields: Any) -> Obj:
    """``obj`` at a newer resourceVersion, with ``fields`` replaced (``annotations`` in its metadata)."""
    metadata = {**obj["metadata"], "resourceVersion": str(next(_version))}
    if "annotations" in fields:
        metadata["annotations"] = fields.pop("annotations")
    return {**obj, **fields, "metadata": metadata}


def _queries_on(queries: CaptureQueriesContext, model: type[models.Model]) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if sql.table(model) in q["sql"]]


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


def test_a_pod_batch_looks_at_the_points_only_when_what_they_count_moves() -> None:
    cluster = f.make_cluster()
    ingest.apply_events(cluster.pk, "Deployment", [("ADDED", _deployment(2, 1))])
    ingest.apply_events(cluster.pk, "ReplicaSet", [("ADDED", _replicaset("rs-a", "aaa", 1, 1))])
    ready = _pod("web-a1", "rs-a", "aaa")
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", ready)])
    assert _points(cluster.pk)[-1] == ("aaa", 1, 1)

    # An annotation (most of what a busy cluster's Pods send) moves no count: the points are not even read.
    annotated = _changed(ready, annotations={"note": "1"})
    with CaptureQueriesContext(connection) as queries:
        ingest.apply_events(cluster.pk, "Pod", [("MODIFIED", annotated)])
    assert not _queries_on(queries, RolloutSample)

    not_ready = _changed(annotated, status={"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]})
    ingest.apply_events(cluster.pk, "Pod", [("MODIFIED", not_ready)])
    assert _points(cluster.pk)[-1] == ("aaa", 0, 0)
    with CaptureQueriesContext(connection) as queries:
        ingest.apply_events(cluster.pk, "Pod", [("MODIFIED", _changed(not_ready, annotations={"note": "2"}))])
    assert not _queries_on(queries, RolloutSample)

    # Ready again, then deleted: a deleted Pod counts no more.
    ready_again = _changed(not_ready, status=ready["status"])
    ingest.apply_events(cluster.pk, "Pod", [("MODIFIED", ready_again)])
    assert _points(cluster.pk)[-1] == ("aaa", 1, 1)
    ingest.apply_events(cluster.pk, "Pod", [("DELETED", _changed(ready_again))])
    assert _points(cluster.pk)[-1] == ("aaa", 0, 0)


def test_pods_are_linked_by_whichever_of_a_pod_and_its_replicaset_comes_last_and_a_status_links_nothing() -> None:
    cluster = f.make_cluster()

    def workload_of(name: str) -> str:
        return Pod.objects.get(cluster=cluster, name=name).workload_uid

    # The Pod first: it points at its ReplicaSet until the ReplicaSet comes and names its Deployment.
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", _pod("web-a1", "rs-a", "aaa"))])
    assert workload_of("web-a1") == "rs-a"
    replicaset = _replicaset("rs-a", "aaa", 1, 1)
    ingest.apply_events(cluster.pk, "ReplicaSet", [("ADDED", replicaset)])
    assert workload_of("web-a1") == "d-web"

    # The ReplicaSet first: its next Pod is written pointing at the Deployment, with nothing left to link.
    with CaptureQueriesContext(connection) as queries:
        ingest.apply_events(cluster.pk, "Pod", [("ADDED", _pod("web-a2", "rs-a", "aaa"))])
    assert workload_of("web-a2") == "d-web"
    assert not [q for q in _queries_on(queries, Pod) if "DISTINCT" in q]

    # The ReplicaSet's status: no Pod to look at.
    with CaptureQueriesContext(connection) as queries:
        ingest.apply_events(cluster.pk, "ReplicaSet", [("MODIFIED", _changed(replicaset))])
    assert not _queries_on(queries, Pod)

    # Another owner (an adoption): its Pods follow.
    adopted = _changed(replicaset)
    adopted["metadata"]["ownerReferences"] = [{"kind": "Deployment", "name": "api", "uid": "d-api", "controller": True}]
    ingest.apply_events(cluster.pk, "ReplicaSet", [("MODIFIED", adopted)])
    assert workload_of("web-a1") == workload_of("web-a2") == "d-api"


@pytest.mark.parametrize(("values", "width"), [(["a"], 1), (["a", "b"], 4), (list("abcde"), 16)])
def test_an_in_list_is_one_of_a_few_widths_filled_with_its_last_value(values: list[str], width: int) -> None:
    placeholders, params = sql.among(values)
    assert placeholders == ", ".join(["%s"] * width)
    assert params == values + [values[-1]] * (width - len(values))


def test_a_busy_watchers_points_are_recorded_together_with_the_newest_counts() -> None:
    cluster = f.make_cluster()
    ingest.apply_events(cluster.pk, "Deployment", [("ADDED", _deployment(2, 1))])
    ingest.apply_events(cluster.pk, "ReplicaSet", [("ADDED", _replicaset("rs-a", "aaa", 1, 1))])
    ready = _pod("web-a1", "rs-a", "aaa")
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", ready)])
    before = _points(cluster.pk)
    assert before[-1] == ("aaa", 1, 1)

    owed = samples.Deferred(cluster.pk, every=3600)
    unready = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
    first_unready = _changed(ready, status=unready)
    second = {**_pod("web-a2", "rs-a", "aaa"), "status": unready}
    ingest.apply_events(cluster.pk, "Pod", [("MODIFIED", first_unready)], deferred=owed)
    ingest.apply_events(cluster.pk, "Pod", [("ADDED", second)], deferred=owed)
    owed.flush()  # not due yet
    assert _points(cluster.pk) == before

    # One point for both batches, counting what the mirror holds when it is recorded.
    owed.flush(now=True)
    assert _points(cluster.pk) == [*before, ("aaa", 0, 0)]
    both_ready = [
        ("MODIFIED", _changed(first_unready, status=ready["status"])),
        ("MODIFIED", _changed(second, status=ready["status"])),
    ]
    ingest.apply_events(cluster.pk, "Pod", both_ready, deferred=owed)
    owed.flush(now=True)
    assert _points(cluster.pk)[-1] == ("aaa", 2, 2)
    owed.flush(now=True)  # nothing owed: nothing recorded
    assert len(_points(cluster.pk)) == len(before) + 2
